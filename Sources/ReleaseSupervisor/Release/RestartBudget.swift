#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The restarts a release has used under its `RestartPolicy`: whether another is allowed now, and after what
/// wait. Pure logic; the caller passes the time, so tests drive it without sleeping.
public struct RestartBudget: Sendable {
    /// The policy counted against.
    public let policy: RestartPolicy
    /// Restarts recorded in total, whatever the window.
    public private(set) var totalRestarts = 0
    /// The moments of the most recent restarts, oldest first; never more than `policy.maxRestarts`.
    private var recent: [ContinuousClock.Instant] = []

    /// A budget with no restarts used.
    public init(policy: RestartPolicy) {
        self.policy = policy
    }

    /// Restarts recorded within the window ending at `now`.
    public func restartsInWindow(at now: ContinuousClock.Instant) -> Int {
        recent.count { now - $0 < policy.window }
    }

    /// Whether one more restart at `now` stays within the policy.
    public func allowsRestart(at now: ContinuousClock.Instant) -> Bool {
        restartsInWindow(at: now) < policy.maxRestarts
    }

    /// When a restart will next be allowed: `now` if it is, else when the oldest counted restart leaves the
    /// window; nil if the policy allows none at all.
    public func nextAllowedRestart(at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard policy.maxRestarts > 0 else { return nil }
        if allowsRestart(at: now) { return now }
        let counted = recent.filter { now - $0 < policy.window }
        return counted[counted.count - policy.maxRestarts] + policy.window
    }

    /// Records a restart made at `now`.
    public mutating func recordRestart(at now: ContinuousClock.Instant) {
        totalRestarts += 1
        recent.append(now)
        recent.removeAll { now - $0 >= policy.window }
        if recent.count > policy.maxRestarts { recent.removeFirst(recent.count - policy.maxRestarts) }
    }

    /// Forgets the restarts in the window (after an operator's explicit start, say); `totalRestarts` stays.
    public mutating func reset() {
        recent.removeAll()
    }

    /// The wait before a restart at `now`: grows with the restarts in the window, jittered, never above
    /// `policy.maximumBackoff` nor below zero.
    public func backoff(
        at now: ContinuousClock.Instant, using generator: inout some RandomNumberGenerator
    ) -> Duration {
        let exponent = Double(restartsInWindow(at: now))
        let maximum = Self.seconds(policy.maximumBackoff)
        let base = min(maximum, Self.seconds(policy.initialBackoff) * pow(policy.multiplier, exponent))
        let jitter = min(max(policy.jitter, 0), 1)
        let factor = jitter > 0 ? Double.random(in: (1 - jitter)...(1 + jitter), using: &generator) : 1
        let seconds = min(maximum, max(0, base * factor))
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// `backoff(at:using:)` with the system's random numbers.
    public func backoff(at now: ContinuousClock.Instant) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return backoff(at: now, using: &generator)
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
