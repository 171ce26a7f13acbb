public import Logging

/// What a follower of the event log receives: an event, or, last, word that it was dropped for not reading.
public enum EventFeedItem: Sendable, Equatable {
    /// An event, as it happened.
    case event(EventRecord)
    /// The follower fell more than `buffer` events behind and was dropped; its stream ends after this.
    case dropped(buffer: Int)
}

/// The daemon's recent events: a bounded ring in memory for `controlnode events`, live followers for `--follow`,
/// and a queue of events on their way to the store for `--since`.
///
/// `publish` never waits: it takes one lock, appends, and yields to each follower's bounded buffer. A follower
/// that falls `followerBuffer` events behind is dropped with a last `dropped` item, so a reader that stops
/// reading costs at most its buffer and never slows supervision. The store is written in batches by `store(into:)`.
public final class EventLog: Sendable {
    /// Events held in memory. An entry is about 200 bytes (a few short strings), so the ring stays near 200 KB:
    /// a small part of the daemon's 20 MB resident-memory target, and hours of history for 20 releases.
    public static let capacity = 1000
    /// How far a follower may fall behind before it is dropped.
    public static let followerBuffer = 256
    /// Events waiting for the store, at most: when the store is slower than this, the oldest waiting are left out
    /// of it (they stay in the ring) and the log says how many.
    public static let unstoredLimit = 5000

    private struct Follower: Sendable {
        let filter: EventFilter
        /// Yields an item; false when the follower's buffer was full (it is then behind).
        let deliver: @Sendable (EventFeedItem) -> Bool
        let finish: @Sendable () -> Void
    }

    private struct State: Sendable {
        var ring: EventRing<EventRecord>
        var followers: [Int: Follower] = [:]
        var nextFollower = 0
        var unstored: [EventRecord] = []
        var lost = 0
    }

    private let state: Locked<State>
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let followerBuffer: Int

    /// An empty log holding `capacity` events, whose followers may fall `followerBuffer` events behind.
    public init(capacity: Int = EventLog.capacity, followerBuffer: Int = EventLog.followerBuffer) {
        state = Locked(State(ring: EventRing(capacity: capacity)))
        self.followerBuffer = max(1, followerBuffer)
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Records `record`: in the ring, on its way to the store, and to every follower whose filter it passes.
    /// Never waits on a follower or the store.
    public func publish(_ record: EventRecord) {
        let dropped = state.withLock { state -> [Follower] in
            state.ring.append(record)
            state.unstored.append(record)
            if state.unstored.count > Self.unstoredLimit {
                state.unstored.removeFirst(state.unstored.count - Self.unstoredLimit)
                state.lost += 1
            }
            // Yielding under the lock keeps every follower's order the ring's; finishing (which runs the stream's
            // termination handler, and so takes this lock) waits until after.
            var behind: [Follower] = []
            for (key, follower) in state.followers where follower.filter.matches(record) {
                if !follower.deliver(.event(record)) {
                    behind.append(follower)
                    state.followers[key] = nil
                }
            }
            return behind
        }
        wake.yield()
        for follower in dropped {
            _ = follower.deliver(.dropped(buffer: followerBuffer))
            follower.finish()
        }
    }

    /// The newest `limit` events that pass `filter`, oldest first.
    public func recent(_ filter: EventFilter, limit: Int) -> [EventRecord] {
        state.withLock { $0.ring.newest(max(0, limit), where: filter.matches) }
    }

    /// The newest `limit` events that pass `filter`, and a stream of those that come after them (no gap, no
    /// repeat), each turned into a `Line` by `line`. The stream ends when the follower is dropped (its last line
    /// then says so) or `finishFollowers()` runs; cancelling its iteration unsubscribes it.
    public func follow<Line: Sendable>(
        _ filter: EventFilter, recent limit: Int, _ line: @escaping @Sendable (EventFeedItem) -> Line
    ) -> (recent: [EventRecord], stream: AsyncStream<Line>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Line.self, bufferingPolicy: .bufferingNewest(followerBuffer))
        let follower = Follower(
            filter: filter,
            deliver: { item in
                if case .enqueued = continuation.yield(line(item)) { return true }
                return false
            },
            finish: { continuation.finish() })
        let (key, recent) = state.withLock { state in
            let key = state.nextFollower
            state.nextFollower += 1
            state.followers[key] = follower
            return (key, state.ring.newest(max(0, limit), where: filter.matches))
        }
        continuation.onTermination = { [weak self] _ in self?.unfollow(key) }
        return (recent, stream)
    }

    /// How many followers there are.
    public var followerCount: Int { state.withLock { $0.followers.count } }

    /// Ends every follower's stream (the daemon is stopping).
    public func finishFollowers() {
        let followers = state.withLock { state in
            defer { state.followers = [:] }
            return Array(state.followers.values)
        }
        for follower in followers { follower.finish() }
    }

    private func unfollow(_ key: Int) {
        _ = state.withLock { $0.followers.removeValue(forKey: key) }
    }

    /// Writes published events to `store` in batches (one transaction each) until cancelled, then what is left.
    /// A store that fails loses that batch from the store only (the ring keeps it); the failure is logged.
    public func store(into store: any EventStore, logger: Logger) async {
        for await _ in wakes {
            await flush(into: store, logger: logger)
            // Events come in bursts (a rollout's steps, a host's releases going down together): waiting a little
            // makes one fsync of a burst.
            try? await Task.sleep(for: .milliseconds(200))
        }
        await flush(into: store, logger: logger)
    }

    /// Writes the events waiting for the store, in one batch.
    public func flush(into store: any EventStore, logger: Logger) async {
        let (batch, lost) = state.withLock { state in
            defer {
                state.unstored = []
                state.lost = 0
            }
            return (state.unstored, state.lost)
        }
        if lost > 0 {
            logger.warning(
                "the state store fell behind: \(lost) events were kept in memory only (controlnode events --since misses them)",
                metadata: ["event": "events_not_stored"])
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.append(events: batch)
        } catch {
            logger.error(
                "cannot store \(batch.count) events (controlnode events --since will miss them): \(error)",
                metadata: ["event": "store_failed"])
        }
    }

    /// `stored` (from the store, oldest first) with the `recent` ones (from the ring) it does not hold yet, in
    /// time order, the newest `limit` of them.
    public static func merge(stored: [EventRecord], recent: [EventRecord], limit: Int) -> [EventRecord] {
        let known = Set(stored)
        let merged = (stored + recent.filter { !known.contains($0) }).enumerated().sorted { left, right in
            left.element.time == right.element.time ? left.offset < right.offset : left.element.time < right.element.time
        }.map(\.element)
        return Array(merged.suffix(max(0, limit)))
    }
}
