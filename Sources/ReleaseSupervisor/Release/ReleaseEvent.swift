/// Something that happened to a release on a host: a transition of its status, with the reason.
///
/// Logs (`EVENT=`), `STATUS=` and `controlnode status` are views of these events and of actor state.
public struct ReleaseEvent: Sendable, Equatable {
    /// What happened, as journald's `EVENT=` field shows it.
    public enum Kind: String, Sendable, Equatable {
        case initialized, deployed, started, connected, nodedown, reconnected, restarted, stopped
        case healthFailed = "health_failed"
        case failed, unreachable, rolledBack = "rolled_back"
    }

    /// What happened.
    public let kind: Kind
    /// The release's name.
    public let release: String
    /// The host's name.
    public let host: String
    /// The status before.
    public let from: ReleaseState.Status
    /// The status after.
    public let to: ReleaseState.Status
    /// Why, in a sentence.
    public let reason: String
    /// The version involved, when one is.
    public let version: ReleaseVersion?
}
