#if canImport(Glibc)
import Glibc
#endif

/// What one step of an operation on the session thread achieved.
enum StepResult {
    /// Moved bytes or advanced its state: everything is stepped again before the loop waits.
    case progressed
    /// A libssh2 call returned EAGAIN: the operation waits for the session socket.
    case wouldBlock
    /// Nothing to do until something outside libssh2 happens: a caller's request or a local socket.
    case idle
    /// Done: the loop drops the operation.
    case finished
    /// The transport failed: the whole connection is dead.
    case transportFailed(SSHError)
}

/// Work that runs on a connection's session thread, one non-blocking step at a time.
///
/// Operations are handed to the session thread once, through `SessionLoop.submit`; after that only that
/// thread calls these methods, so their state needs no lock unless callers share it (then the type says so).
protocol SessionOperation: AnyObject, Sendable {
    /// Advances as far as it can without blocking, and says how far it got.
    func step(_ loop: SessionLoop) -> StepResult
    /// A local descriptor the loop should wait on while this operation is idle.
    var watchedDescriptor: pollfd? { get }
    /// A monotonic time (nanoseconds) at which the operation must be stepped even without events.
    var deadline: Int64? { get }
    /// Ends the operation because the connection is gone or closing: waiters get `error`, local resources close.
    /// libssh2 handles need not be freed: the session's own free releases them.
    func abandon(_ error: SSHError)
}

extension SessionOperation {
    var watchedDescriptor: pollfd? { nil }
    var deadline: Int64? { nil }
}
