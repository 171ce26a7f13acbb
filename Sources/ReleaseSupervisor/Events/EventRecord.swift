/// One entry of the daemon's event log: something that happened to a release (on a host, or to a rollout of it),
/// as `controlnode events` shows it and the store keeps it.
///
/// Kept small on purpose: the daemon holds `EventLog.capacity` of them in memory, and its resident memory is a
/// product target. The reason is cut to `maximumReason` characters.
public struct EventRecord: Sendable, Hashable {
    /// The longest reason kept, in characters; a longer one ends with `…`.
    public static let maximumReason = 400

    /// When it happened (wall clock, to the nanosecond; shown to the second).
    public var time: WallClockTime
    /// The release.
    public var release: String
    /// The host; nil for what happens to a rollout as a whole (`rollout_started`, `rollout_succeeded`).
    public var host: String?
    /// What happened: a `ReleaseEvent.Kind` (`nodedown`, `restarted`, `health_failed`, …) or a rollout step's
    /// journal event (`rollout_started`, `host_updated`, `rollout_failed`, …).
    public var kind: String
    /// Why, in a sentence.
    public var reason: String
    /// The version involved, when one is.
    public var version: String?
    /// The rollout it belongs to, for a rollout step.
    public var rollout: Int64?

    /// An entry; `reason` longer than `maximumReason` is cut.
    public init(
        time: WallClockTime, release: String, host: String?, kind: String, reason: String, version: String? = nil,
        rollout: Int64? = nil
    ) {
        self.time = time
        self.release = release
        self.host = host
        self.kind = kind
        self.reason = reason.count > Self.maximumReason ? String(reason.prefix(Self.maximumReason - 1)) + "…" : reason
        self.version = version
        self.rollout = rollout
    }

    /// The entry of a release actor's transition, at `time`.
    public init(_ event: ReleaseEvent, at time: WallClockTime) {
        self.init(
            time: time, release: event.release, host: event.host, kind: event.kind.rawValue, reason: event.reason,
            version: event.version.map { "\($0)" })
    }
}
