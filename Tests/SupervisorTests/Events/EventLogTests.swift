import Foundation
import Logging
import Testing

@testable import ReleaseSupervisor

/// The library's log (ReleaseActorTests has a helper of the same name).
private typealias Log = ReleaseSupervisor.EventLog

@Suite("Event log: ring, filters, --since durations, followers")
struct EventLogTests {
    private let start = WallClockTime(iso8601: "2026-12-01T09:00:00Z")!

    private func event(_ index: Int, release: String = "ledger", host: String? = "web1", kind: String = "nodedown")
        -> EventRecord
    {
        EventRecord(
            time: WallClockTime(nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + Int64(index) * 1_000_000_000),
            release: release, host: host, kind: kind, reason: "event \(index)")
    }

    @Test("the ring keeps the newest elements in order and never grows past its capacity")
    func ring() {
        var ring = EventRing<Int>(capacity: 3)
        #expect(ring.elements.isEmpty)
        for value in 1...2 { ring.append(value) }
        #expect(ring.elements == [1, 2])
        for value in 3...7 { ring.append(value) }
        #expect(ring.elements == [5, 6, 7] && ring.count == 3)
        #expect(ring.newest(2, where: { _ in true }) == [6, 7])
        #expect(ring.newest(5, where: { $0 % 2 == 1 }) == [5, 7])
        #expect(EventRing<Int>(capacity: 0).capacity == 1)
    }

    @Test("filters by release and host (a rollout's own events pass a host filter) and since")
    func filter() {
        let web1 = event(1)
        let web2 = event(2, host: "web2")
        let rollout = event(3, host: nil, kind: "rollout_started")
        let other = event(4, release: "billing")
        #expect(EventFilter().matches(other))
        #expect(EventFilter(release: "ledger").matches(web1) && !EventFilter(release: "ledger").matches(other))
        let host = EventFilter(host: "web1")
        #expect(host.matches(web1) && !host.matches(web2) && host.matches(rollout))
        let since = EventFilter(since: web2.time)
        #expect(!since.matches(web1) && since.matches(web2) && since.matches(rollout))
    }

    @Test("--since durations: whole numbers with s, m, h or d, one or several")
    func durations() {
        #expect(EventAge.seconds("90s") == 90)
        #expect(EventAge.seconds("10m") == 600)
        #expect(EventAge.seconds("2h") == 7200)
        #expect(EventAge.seconds("1d") == 86_400)
        #expect(EventAge.seconds("1h30m") == 5400)
        #expect(EventAge.seconds("0s") == 0)
        for invalid in ["", "10", "m", "1.5h", "-1h", "10 m", "2w", "1h30", "99999999999999999999d", "٣h"] {
            #expect(EventAge.seconds(invalid) == nil, "\(invalid)")
        }
        #expect(EventAge.moment(60, before: start) == WallClockTime(iso8601: "2026-12-01T08:59:00Z"))
    }

    @Test("a long reason is cut to the maximum, ending with …; a release event keeps its kind, host and version")
    func records() {
        let long = EventRecord(
            time: start, release: "ledger", host: "web1", kind: "failed", reason: String(repeating: "x", count: 1000))
        #expect(long.reason.count == EventRecord.maximumReason && long.reason.hasSuffix("…"))
        let health = ReleaseEvent(
            kind: .healthFailed, release: "ledger", host: "web1", from: .running, to: .running,
            reason: "health check failed 3 times", version: ReleaseVersion("0.2.0"))
        let record = EventRecord(health, at: start)
        #expect(record.kind == "health_failed" && record.host == "web1" && record.version == "0.2.0")
        #expect(record.time == start && record.reason == "health check failed 3 times" && record.rollout == nil)
    }

    @Test("recent events pass the filter, newest last; merging with stored ones drops repeats and keeps time order")
    func recentAndMerge() {
        let log = Log(capacity: 4)
        for index in 0..<6 { log.publish(event(index, host: index % 2 == 0 ? "web1" : "web2")) }
        #expect(log.recent(EventFilter(), limit: 10).map(\.reason) == ["event 2", "event 3", "event 4", "event 5"])
        #expect(log.recent(EventFilter(host: "web1"), limit: 1).map(\.reason) == ["event 4"])
        let stored = (0..<4).map { event($0, host: $0 % 2 == 0 ? "web1" : "web2") }
        let merged = Log.merge(stored: stored, recent: log.recent(EventFilter(), limit: 10), limit: 100)
        #expect(merged.map(\.reason) == (0..<6).map { "event \($0)" })
        #expect(Log.merge(stored: stored, recent: [], limit: 2).map(\.reason) == ["event 2", "event 3"])
    }

    @Test("a follower gets the recent events, then each new one that passes its filter, without gap or repeat")
    func follow() async {
        let log = Log(capacity: 10, followerBuffer: 10)
        log.publish(event(0))
        let (recent, stream) = log.follow(EventFilter(release: "ledger"), recent: 5) { $0 }
        #expect(recent.map(\.reason) == ["event 0"])
        log.publish(event(1))
        log.publish(event(2, release: "billing"))
        log.publish(event(3))
        var received: [EventFeedItem] = []
        for await item in stream {
            received.append(item)
            if received.count == 2 { break }
        }
        #expect(received == [.event(event(1)), .event(event(3))])
    }

    @Test("a follower that stops reading is dropped with a last line; publishing never waits and others go on")
    func slowFollower() async {
        let log = Log(capacity: 100, followerBuffer: 4)
        let (_, slow) = log.follow(EventFilter(), recent: 0) { $0 }
        let (_, other) = log.follow(EventFilter(release: "billing"), recent: 0) { $0 }
        #expect(log.followerCount == 2)
        // Nobody reads `slow`: the fifth event finds its buffer full.
        for index in 0..<50 { log.publish(event(index)) }
        #expect(log.followerCount == 1)
        var items: [EventFeedItem] = []
        for await item in slow { items.append(item) }  // ends: the follower was dropped
        #expect(items.count == 4)
        #expect(items.last == .dropped(buffer: 4))
        // The other follower is untouched and still gets what it asked for.
        log.publish(event(99, release: "billing"))
        var iterator = other.makeAsyncIterator()
        #expect(await iterator.next() == .event(event(99, release: "billing")))
    }

    @Test("a follower that goes away is unsubscribed; finishing ends every stream")
    func unsubscribe() async {
        let log = Log()
        do {
            let (_, stream) = log.follow(EventFilter(), recent: 0) { $0 }
            let task = Task { for await _ in stream {} }
            task.cancel()
            await task.value
        }
        #expect(log.followerCount == 0)
        let (_, stream) = log.follow(EventFilter(), recent: 0) { $0 }
        log.finishFollowers()
        var count = 0
        for await _ in stream { count += 1 }
        #expect(count == 0 && log.followerCount == 0)
    }

    @Test("events reach the store in batches; the store keeps them across reopening and filters them")
    func stored() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-events")
        defer { directory.remove() }
        let log = Log()
        do {
            let store = try SQLiteStateStore(directory: directory.path)
            for index in 0..<5 { log.publish(event(index, host: index == 4 ? nil : "web\(index % 2 + 1)")) }
            await log.flush(into: store, logger: Logger(label: "test"))
            await log.flush(into: store, logger: Logger(label: "test"))  // nothing left: no second write
        }
        let store = try SQLiteStateStore(directory: directory.path)
        let all = try await store.events(matching: EventFilter(), limit: 100)
        #expect(all == (0..<5).map { event($0, host: $0 == 4 ? nil : "web\($0 % 2 + 1)") })
        let web1 = try await store.events(matching: EventFilter(release: "ledger", host: "web1", since: event(1).time), limit: 100)
        #expect(web1.map(\.reason) == ["event 2", "event 4"])
        #expect(try await store.events(matching: EventFilter(), limit: 2).map(\.reason) == ["event 3", "event 4"])
        #expect(try await store.events(matching: EventFilter(release: "billing"), limit: 10).isEmpty)
    }

    @Test("the store prunes events older than its maximum age on insert")
    func pruned() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-events")
        defer { directory.remove() }
        let store = try SQLiteStateStore(directory: directory.path)
        let now = WallClockTime.now()
        let old = EventRecord(
            time: EventAge.moment(EventStoreLimits.maximumAge + 60, before: now), release: "ledger", host: "web1",
            kind: "stopped", reason: "long ago")
        let fresh = EventRecord(time: now, release: "ledger", host: "web1", kind: "started", reason: "now")
        try await store.append(events: [old])
        try await store.append(events: [fresh])
        #expect(try await store.events(matching: EventFilter(), limit: 10) == [fresh])
    }
}
