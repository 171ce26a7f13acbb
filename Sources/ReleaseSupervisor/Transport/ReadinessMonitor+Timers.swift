import Synchronization

extension ReadinessMonitor {
    /// Runs `action` on the event thread once `delay` has passed, unless cancelled first.
    ///
    /// The action must be short and must not block: every socket of the process waits while it runs.
    /// - Returns: an id for `cancelTimer`.
    func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        let deadline = MonotonicClock.nanoseconds() &+ max(delay.nanoseconds, 0)
        let (id, wake) = timers.withLock { timers in
            (timers.queue.schedule(at: deadline, action), deadline < timers.sleepingUntil)
        }
        if wake { self.wake() }
        return id
    }

    /// Cancels a timer from `schedule`; nothing happens if it already ran.
    func cancelTimer(_ id: UInt64) {
        _ = timers.withLock { $0.queue.cancel(id) }
    }

    /// Milliseconds until the earliest timer (rounded up), 0 while jobs wait, or -1; records the sleep for `schedule`.
    func nextTimeout() -> Int32 {
        if jobs.withLock({ !$0.isEmpty }) { return 0 }
        return timers.withLock { timers in
            guard let deadline = timers.queue.earliestDeadline() else {
                timers.sleepingUntil = .max
                return -1
            }
            timers.sleepingUntil = deadline
            let remaining = deadline - MonotonicClock.nanoseconds()
            if remaining <= 0 { return 0 }
            return Int32(clamping: (remaining + 999_999) / 1_000_000)
        }
    }
}
