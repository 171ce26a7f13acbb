#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value guarded by a pthread mutex: the lock every shared mutable state of the project uses.
///
/// It is `Synchronization.Mutex` with one difference that matters for checking the code: the thread sanitizer
/// intercepts `pthread_mutex_lock`, so it sees this lock and the order it imposes. On Linux `Mutex` locks with a
/// futex inside the uninstrumented Synchronization library, and every access it guards is reported as a race
/// (FUZZING.md shows a correct seven-line program that trips it). The cost is one allocation per lock.
public final class Locked<Value: ~Copyable>: @unchecked Sendable {
    // @unchecked: `value` is only reached between `pthread_mutex_lock` and `pthread_mutex_unlock` of `mutex`,
    // and goes in and out as `sending`, as with `Synchronization.Mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Guards `value`.
    public init(_ value: consuming sending Value) {
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock; never call `withLock` on the same lock inside `body`.
    public func withLock<Result: ~Copyable, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
