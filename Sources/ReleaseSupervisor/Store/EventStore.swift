/// Where the daemon's events outlive its memory: `controlnode events --since` reads them back.
///
/// Bounded: each append prunes events older than `maximumAge` and all but the newest `maximumRows`, so the file
/// cannot grow without end however chatty a release is.
public protocol EventStore: Sendable {
    /// Stores `events` in one write, then prunes.
    func append(events: [EventRecord]) async throws(StoreError)

    /// The newest `limit` stored events that pass `filter`, oldest first.
    func events(matching filter: EventFilter, limit: Int) async throws(StoreError) -> [EventRecord]
}

/// How much of the event history the store keeps.
public enum EventStoreLimits {
    /// Events are kept this long: 30 days.
    public static let maximumAge: Int64 = 30 * 86_400
    /// And at most this many (about 15 MB of file at 150 bytes a row).
    public static let maximumRows: Int64 = 100_000
}
