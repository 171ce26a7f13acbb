/// The decisions of one `ReleaseActor`, without any I/O: whether a request may run, what a node going down means,
/// whether the periodic recheck or the health check has anything to do, and when failed health checks call for
/// action. The actor asks before it acts and reports how each piece of work ended; its phase lives only here.
///
/// Phases: `attaching` (bringing itself in line with the host) → `attached` (connected and watching) or
/// `detached` (nothing runs and nothing is to start now; the recheck tries again); `attached` → `recovering`
/// when the node goes down; `busy` while an operator's request or a rollout step runs (a node going down then is
/// the request's business, and is looked at again once it ends); `stoppedByOperator` until a start; `failed`
/// until an operator or a rollout acts.
public struct ReleaseStateMachine: Sendable, Equatable {
    /// Where the actor is.
    public enum Phase: Sendable, Equatable {
        case attaching
        case attached
        case detached
        case recovering
        /// Running a request, named for the `busy` answer (`a deploy of 0.2.0`).
        case busy(String)
        case stoppedByOperator
        /// Given up on, with the reason.
        case failed(String)
    }

    /// How a piece of work (a request, a reconcile, a recovery) left the release.
    public enum Outcome: Sendable, Equatable {
        /// Connected to the running node.
        case attached
        /// Not running, and nothing more to do for now.
        case detached
        /// Stopped by the operator's request.
        case stoppedByOperator
        /// Given up on.
        case failed(String)
    }

    /// Where the actor is.
    public private(set) var phase: Phase = .attaching
    /// The reason the connected node went down while a request ran, looked at once the request ends.
    private var downWhileBusy: NodeDownReason?
    private var healthFailures = 0

    /// A machine for an actor about to initialise.
    public init() {}

    /// A request wants to run: nil when it may (the actor is now busy with it), else what it is busy with.
    public mutating func begin(_ request: String) -> String? {
        if case .busy(let current) = phase { return current }
        phase = .busy(request)
        downWhileBusy = nil
        return nil
    }

    /// The request has ended, leaving the release as `outcome`. Returns the reason to recover for, when the node
    /// it left connected went down while it ran.
    public mutating func end(_ outcome: Outcome) -> NodeDownReason? {
        settle(outcome)
        defer { downWhileBusy = nil }
        guard phase == .attached, let reason = downWhileBusy else { return nil }
        phase = .recovering
        return reason
    }

    /// The periodic recheck (or a change) fires: true when the actor should reconcile with the host now, which
    /// it then does in `attaching`. A release an operator stopped is rechecked too (one started again by hand is
    /// connected to), but not started (`mayStart`).
    public mutating func recheck() -> Bool {
        switch phase {
        case .attaching, .detached:
            phase = .attaching
            return true
        case .stoppedByOperator:
            return true
        case .attached, .recovering, .busy, .failed:
            return false
        }
    }

    /// A reconcile or a recovery has ended.
    public mutating func settled(_ outcome: Outcome) {
        guard !isBusy else { return }  // a request started meanwhile now owns the outcome
        settle(outcome)
    }

    /// The connected node went down: true when the actor should find out why and recover (it is then
    /// `recovering`); false when a request owns what happens (it is looked at once the request ends) or nothing
    /// is connected.
    public mutating func nodeDown(_ reason: NodeDownReason) -> Bool {
        switch phase {
        case .busy:
            downWhileBusy = reason
            return false
        case .attached:
            phase = .recovering
            return true
        case .attaching, .detached, .recovering, .stoppedByOperator, .failed:
            return false
        }
    }

    /// Whether the health check runs now: only while attached and no request or recovery is under way.
    public var checksHealth: Bool { phase == .attached }

    /// A health check's answer: true when `threshold` failures in a row call for the check's action (the count
    /// then starts again).
    public mutating func health(_ healthy: Bool, threshold: Int) -> Bool {
        guard phase == .attached else { return false }
        if healthy {
            healthFailures = 0
            return false
        }
        healthFailures += 1
        guard healthFailures >= max(1, threshold) else { return false }
        healthFailures = 0
        return true
    }

    /// Whether a request is running.
    public var isBusy: Bool {
        if case .busy = phase { return true }
        return false
    }

    /// Whether `manage` mode may start the release on its own: not after an operator's stop, nor once given up.
    public var mayStart: Bool {
        switch phase {
        case .stoppedByOperator, .failed: false
        default: true
        }
    }

    private mutating func settle(_ outcome: Outcome) {
        if outcome == .attached { healthFailures = 0 }
        switch outcome {
        case .attached: phase = .attached
        case .detached: if phase != .stoppedByOperator { phase = .detached }
        case .stoppedByOperator: phase = .stoppedByOperator
        case .failed(let reason): phase = .failed(reason)
        }
    }
}
