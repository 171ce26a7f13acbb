/// systemd's watchdog (`WatchdogSec=` in the unit): pings at half the interval, but only while a liveness
/// check says the daemon is working, so a stuck supervisor stops the pings and systemd restarts the daemon.
public struct Watchdog: Sendable {
    /// How long systemd waits for a ping before it declares the daemon hung (`WATCHDOG_USEC`).
    public let interval: Duration
    /// How long the liveness check may take before it counts as failed: half the ping period by default.
    public let checkTimeout: Duration

    /// The time between pings: half the interval, as sd_watchdog_enabled(3) advises.
    public var pingPeriod: Duration { interval / 2 }

    /// A watchdog with an explicit interval.
    public init(interval: Duration, checkTimeout: Duration? = nil) {
        self.interval = interval
        self.checkTimeout = checkTimeout ?? interval / 4
    }

    /// The watchdog systemd asked for through `WATCHDOG_USEC`/`WATCHDOG_PID`, or nil when it is off for this
    /// process.
    ///
    /// - Throws: `SystemdError` (`watchdogMisconfigured`) when the variables are set but malformed.
    public static func fromEnvironment() throws(SystemdError) -> Watchdog? {
        guard let microseconds = try LibSystemd.watchdogInterval() else { return nil }
        return Watchdog(interval: .microseconds(Int64(clamping: microseconds)))
    }

    /// Pings every `pingPeriod` for as long as the task runs, each time only if `isAlive` returned true
    /// within `checkTimeout`. Returns when the task is cancelled.
    ///
    /// `isAlive` should ask the component that matters (for example, the supervisor actor answering a trivial
    /// request) and honour cancellation. A check that never returns at all also stops the pings, which is
    /// the point: systemd then kills and restarts the daemon.
    ///
    /// - Parameter onMissedPing: called when a check failed or timed out, to log why the ping was withheld.
    public func run(
        notifier: Notifier = Notifier(),
        isAlive: @escaping @Sendable () async -> Bool,
        onMissedPing: @Sendable (_ timedOut: Bool) -> Void = { _ in }
    ) async throws(SystemdError) {
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled {
            switch await check(isAlive) {
            case .alive: try notifier.watchdogPing()
            case .failed: onMissedPing(false)
            case .timedOut: onMissedPing(true)
            case .cancelled: return
            }
            next = next.advanced(by: pingPeriod)
            // A late wake-up must not shift every later ping: catch up with the schedule instead.
            if next < clock.now { next = clock.now }
            do {
                try await Task.sleep(until: next, clock: clock)
            } catch {
                return
            }
        }
    }

    enum CheckOutcome: Sendable { case alive, failed, timedOut, cancelled }

    /// Races the check against `checkTimeout`. The group waits for the check to finish even after the
    /// timeout wins; a check that ignores cancellation therefore holds up the next ping, never skips ahead.
    private func check(_ isAlive: @escaping @Sendable () async -> Bool) async -> CheckOutcome {
        let timeout = checkTimeout
        return await withTaskGroup(of: CheckOutcome.self) { group in
            group.addTask { await isAlive() ? .alive : .failed }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return .cancelled
                }
            }
            let first = await group.next() ?? .cancelled
            group.cancelAll()
            return Task.isCancelled ? .cancelled : first
        }
    }
}
