#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CEpoll
import Synchronization

/// One thread for the whole process that waits in `epoll_wait`, wakes the tasks waiting on sockets,
/// runs read handlers, and fires timers.
///
/// Sockets are registered edge-triggered. Readiness that arrives while nobody waits is latched in
/// the socket's slot, so the sequence "syscall says EAGAIN, then await readiness" can never miss
/// the edge that came in between: the await finds the latch and returns at once. A socket with a
/// read handler has its handler called on this thread instead, which saves a hop to another thread
/// for latency-sensitive readers (distribution replies). An idle process costs nothing: the thread
/// sleeps in the kernel until the next socket event or the earliest armed timer.
final class ReadinessMonitor: Sendable {
    /// The monitor every socket in the process shares; its thread starts on first use.
    static let shared: ReadinessMonitor = {
        let monitor = ReadinessMonitor()
        monitor.startThread()
        return monitor
    }()

    /// Which way a task waits.
    enum Direction: Sendable { case read, write }

    /// A waiter was already parked for the same socket and direction; sockets allow one each.
    struct ConcurrentWaitError: Error, CustomStringConvertible {
        var description: String { "two tasks waited to use the same socket in the same direction at once" }
    }

    private struct Slot {
        var readable = false
        var writable = false
        var reader: CheckedContinuation<Void, any Error>?
        var writer: CheckedContinuation<Void, any Error>?
        var readHandler: (@Sendable () -> Void)?
    }

    private static let edgeTriggered: UInt32 = 1 << 31
    private let epollDescriptor: Int32
    private let slots = Locked<[UInt64: Slot]>([:])
    private let nextToken = Atomic<UInt64>(1)
    /// An eventfd that wakes the thread when a timer earlier than its current sleep is armed.
    private let wakeDescriptor: Int32
    let timers = Locked(Timers())
    /// Jobs of tasks that prefer this thread as their executor (`EventThread.executor`).
    let jobs = Locked<[UnownedJob]>([])
    /// The event thread's id, to tell whether a caller is on it.
    let threadID = Atomic<UInt>(0)

    struct Timers {
        var queue = TimerQueue()
        /// The deadline the thread sleeps until (monotonic nanoseconds); `Int64.max` for no timeout.
        var sleepingUntil = Int64.max
    }

    private static let wakeToken: UInt64 = 0

    private init() {
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeDescriptor = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        if epollDescriptor >= 0 && wakeDescriptor >= 0 {
            var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: Self.wakeToken))
            _ = epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, wakeDescriptor, &event)
        }
    }

    private func startThread() {
        guard epollDescriptor >= 0 else { return }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<ReadinessMonitor>.fromOpaque(context!).takeRetainedValue().runLoop()
                return nil
            }, context)
        if status == 0 { pthread_detach(thread) }
    }

    /// Adds a socket; the returned token names it in `wait` and `deregister`.
    func register(_ descriptor: Int32) throws(SystemCallError) -> UInt64 {
        guard epollDescriptor >= 0 else { throw SystemCallError(call: "epoll_create1", errno: EMFILE) }
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        slots.withLock { $0[token] = Slot() }
        let mask =
            EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue
            | Self.edgeTriggered
        var event = epoll_event(events: mask, data: epoll_data_t(u64: token))
        do {
            _ = try systemCall("epoll_ctl") { epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, descriptor, &event) }
        } catch {
            slots.withLock { _ = $0.removeValue(forKey: token) }
            throw error
        }
        return token
    }

    /// Removes a socket and wakes its waiters, which then find the socket closed.
    func deregister(_ descriptor: Int32, token: UInt64) {
        _ = epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, descriptor, nil)
        let slot = slots.withLock { $0.removeValue(forKey: token) }
        slot?.reader?.resume()
        slot?.writer?.resume()
    }

    /// From now on calls `handler` on the event thread whenever the socket becomes readable, and once
    /// right away on the calling thread (bytes may have arrived before). Calls may overlap: the
    /// handler serializes itself. Ends with `deregister`.
    func setReadHandler(token: UInt64, _ handler: @escaping @Sendable () -> Void) {
        let installed = slots.withLock { slots in
            guard slots[token] != nil else { return false }
            slots[token]?.readHandler = handler
            slots[token]?.readable = false
            return true
        }
        if installed { handler() }
    }

    /// Returns once the socket is (or was, since the last wait) ready in `direction`, or was deregistered.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    func wait(_ direction: Direction, token: UInt64) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = slots.withLock { slots in
                    guard var slot = slots[token] else { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    switch direction {
                    case .read:
                        if slot.readable {
                            slot.readable = false
                        } else if slot.reader == nil {
                            slot.reader = continuation
                        } else {
                            return .failure(ConcurrentWaitError())
                        }
                        slots[token] = slot
                        return slot.reader == nil ? .success(()) : nil
                    case .write:
                        if slot.writable {
                            slot.writable = false
                        } else if slot.writer == nil {
                            slot.writer = continuation
                        } else {
                            return .failure(ConcurrentWaitError())
                        }
                        slots[token] = slot
                        return slot.writer == nil ? .success(()) : nil
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = slots.withLock { slots -> CheckedContinuation<Void, any Error>? in
                switch direction {
                case .read:
                    defer { slots[token]?.reader = nil }
                    return slots[token]?.reader
                case .write:
                    defer { slots[token]?.writer = nil }
                    return slots[token]?.writer
                }
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func runLoop() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        let capacity = 64
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while true {
            let count = epoll_wait(epollDescriptor, events, Int32(capacity), nextTimeout())
            if count < 0 && errno != EINTR { return }  // The epoll descriptor is gone; nothing more can be woken.
            for index in 0..<Int(max(count, 0)) {
                if events[index].data.u64 == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeDescriptor, &value, MemoryLayout<UInt64>.size)
                } else {
                    dispatch(events[index])
                }
            }
            let expired = timers.withLock { $0.queue.takeExpired(now: MonotonicClock.nanoseconds()) }
            for action in expired { action() }
            runJobs()
        }
    }

    /// Wakes the thread from `epoll_wait`.
    func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeDescriptor, &one, MemoryLayout<UInt64>.size)
    }

    private func dispatch(_ event: epoll_event) {
        let readMask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue
        let writeMask = EPOLLOUT.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue
        let token = event.data.u64
        let (reader, writer, handler) = slots.withLock { slots in
            guard var slot = slots[token] else {
                return (CheckedContinuation<Void, any Error>?.none, CheckedContinuation<Void, any Error>?.none,
                    (@Sendable () -> Void)?.none)
            }
            var reader: CheckedContinuation<Void, any Error>?
            var writer: CheckedContinuation<Void, any Error>?
            var handler: (@Sendable () -> Void)?
            if event.events & readMask != 0 {
                if let readHandler = slot.readHandler {
                    handler = readHandler
                } else if let waiting = slot.reader {
                    reader = waiting
                    slot.reader = nil
                } else {
                    slot.readable = true
                }
            }
            if event.events & writeMask != 0 {
                if let waiting = slot.writer {
                    writer = waiting
                    slot.writer = nil
                } else {
                    slot.writable = true
                }
            }
            slots[token] = slot
            return (reader, writer, handler)
        }
        handler?()
        reader?.resume()
        writer?.resume()
    }
}
