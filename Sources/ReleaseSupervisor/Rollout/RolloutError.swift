/// A rollout that cannot start, or an operator's request about one that cannot be done: what, for which release,
/// and what to do.
public struct RolloutError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of refusal.
    public enum Code: String, Sendable, Equatable {
        /// Another rollout of the release is in progress (its id is in the message).
        case busy
        /// The version failed an earlier rollout of the release.
        case quarantined
        /// The version is not in the registry.
        case notInRegistry
        /// A named host does not run the release.
        case unknownHost
        /// No host has an earlier version to go back to.
        case nothingToRollBack
        /// No rollout of the release is in progress, or it is not waiting for what was asked.
        case notInProgress
        /// The release is in observe or connect mode: the daemon does not change it.
        case notManaged
        /// The state store failed: the rollout was not started, since it could not be recorded.
        case store
    }

    /// The kind of refusal.
    public let code: Code
    /// The release.
    public let release: String
    /// What is wrong and what to do.
    public let detail: String
    /// The rollout in the way, for `busy`.
    public let rollout: Int64?

    init(_ code: Code, release: String, _ detail: String, rollout: Int64? = nil) {
        self.code = code
        self.release = release
        self.detail = detail
        self.rollout = rollout
    }

    /// `release ledger: detail`.
    public var description: String { "release \(release): \(detail)" }
}

/// One change a follower of a rollout sees: a host's step, or the rollout's own end.
public struct RolloutUpdate: Sendable, Equatable {
    /// The rollout.
    public var rollout: Int64
    /// The host, for a host's step; nil for the rollout as a whole.
    public var host: String?
    /// What happened: `staging`, `staged`, `stopping`, `starting`, `healthy`, `updated`, `unchanged`, `failed`,
    /// `reverting`, `reverted`, `revert_failed`, `skipped`, `awaiting_promotion`, or the final result.
    public var state: String
    /// For `healthy`: seconds healthy so far, and of how many.
    public var healthy: (elapsed: Double, window: Double)?
    /// Why, for a failure.
    public var detail: String?
    /// The rollout's result, on its last update.
    public var result: OperationResult?

    /// Two updates are equal when every field is.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.rollout == rhs.rollout && lhs.host == rhs.host && lhs.state == rhs.state && lhs.detail == rhs.detail
            && lhs.result == rhs.result && lhs.healthy?.elapsed == rhs.healthy?.elapsed
            && lhs.healthy?.window == rhs.healthy?.window
    }
}
