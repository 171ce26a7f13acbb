#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A system call that failed, with the errno it left.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name of the call, such as `connect`.
    public let call: String
    /// The `errno` value the call left.
    public let errno: Int32

    /// Creates the error for `call` failing with `errno`.
    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// Whether the call would have blocked on a non-blocking descriptor.
    public var wouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }

    /// The call's name and the system's text for the errno.
    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// Runs a system call, retrying on EINTR; a negative result becomes a `SystemCallError`.
@inline(__always)
func systemCall<Result: BinaryInteger>(
    _ name: String, _ body: () -> Result
) throws(SystemCallError) -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Glibc.errno
        if error == EINTR { continue }
        throw SystemCallError(call: name, errno: error)
    }
}

/// Like `systemCall`, but returns nil instead of throwing when the call would block.
@inline(__always)
func nonBlockingCall<Result: BinaryInteger>(
    _ name: String, _ body: () -> Result
) throws(SystemCallError) -> Result? {
    do {
        return try systemCall(name, body)
    } catch {
        if error.wouldBlock { return nil }
        throw error
    }
}
