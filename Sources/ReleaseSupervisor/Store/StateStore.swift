/// What must survive a restart of the daemon: the version each (release, host) should run, the history of
/// operations with every host's outcome, the rollouts in flight, and quarantined versions.
///
/// Every write is durable when the call returns, so a caller records a decision before acting on it. One
/// implementation keeps it in SQLite for one daemon (`SQLiteStateStore`); a shared one can serve several. The
/// daemon's recent events are kept there too (`EventStore`).
public protocol StateStore: EventStore {
    /// The desired version of every (release, host) that has one.
    func desiredVersions() async throws(StoreError) -> [ReleaseHost: DesiredVersion]

    /// The configuration's `version` of each release as last turned into a rollout.
    func configRequests() async throws(StoreError) -> [String: ReleaseVersion]

    /// Stores `record` as a new operation, with the configuration's `version` it answers (for `config`
    /// rollouts) in the same write, and returns its id.
    func begin(_ record: OperationRecord, configRequest: ReleaseVersion?) async throws(StoreError) -> Int64

    /// Stores one host's step of `operation`; with `desired`, that host's desired version changes in the same
    /// write (`.some(nil)` clears it). A `phase`, when given, replaces the operation's.
    func record(
        _ step: HostStep, of operation: Int64, release: String, desired: DesiredVersion??, phase: String?
    ) async throws(StoreError)

    /// Sets how `operation` stands; a final result also sets its end time.
    func update(operation: Int64, result: OperationResult, error: String?, phase: String?) async throws(StoreError)

    /// One operation with its hosts, or nil when there is none with that id.
    func operation(_ id: Int64) async throws(StoreError) -> OperationRecord?

    /// The newest operations first, of `release` or of every release, at most `limit`.
    func history(release: String?, limit: Int) async throws(StoreError) -> [OperationRecord]

    /// Operations that have not ended (running, awaiting promotion, interrupted), oldest first.
    func unfinished() async throws(StoreError) -> [OperationRecord]

    /// The versions a host moved between in successful steps, newest first: what rollback reads.
    func updates(release: String, host: String) async throws(StoreError) -> [(from: ReleaseVersion?, to: ReleaseVersion)]

    /// Marks `entry.version` of `entry.release` as quarantined.
    func quarantine(_ entry: QuarantinedVersion) async throws(StoreError)

    /// Lifts the quarantine of `version` (a forced deploy).
    func liftQuarantine(release: String, version: ReleaseVersion) async throws(StoreError)

    /// The quarantined versions of `release`, or of every release.
    func quarantined(release: String?) async throws(StoreError) -> [QuarantinedVersion]
}
