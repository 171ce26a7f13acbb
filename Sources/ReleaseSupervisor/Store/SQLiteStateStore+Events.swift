extension SQLiteStateStore: EventStore {
    /// Inserts `events` and prunes to `EventStoreLimits`, in one transaction (one fsync for the batch).
    public func append(events: [EventRecord]) throws(StoreError) {
        guard !events.isEmpty else { return }
        try database.transaction { () throws(StoreError) in
            for event in events {
                try database.query(
                    """
                    INSERT INTO events (at_ns, at, release, host, kind, reason, version, rollout_id)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                    """,
                    [
                        .integer(event.time.nanosecondsSinceEpoch), .text("\(event.time)"), .text(event.release),
                        event.host.sqlite, .text(event.kind), .text(event.reason), event.version.sqlite,
                        event.rollout.map { .integer($0) } ?? .null,
                    ])
            }
            let oldest = EventAge.moment(EventStoreLimits.maximumAge, before: .now())
            // By id (the rowid): both deletes walk an index from its low end, so pruning costs what it removes.
            try database.query(
                "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?1",
                [.integer(EventStoreLimits.maximumRows)])
            try database.query("DELETE FROM events WHERE at_ns < ?1", [.integer(oldest.nanosecondsSinceEpoch)])
        }
    }

    /// The newest `limit` events that pass `filter`, oldest first.
    public func events(matching filter: EventFilter, limit: Int) throws(StoreError) -> [EventRecord] {
        let rows = try database.query(
            """
            SELECT at_ns, release, host, kind, reason, version, rollout_id FROM events
            WHERE (?1 IS NULL OR release = ?1) AND (?2 IS NULL OR host IS NULL OR host = ?2) AND at_ns >= ?3
            ORDER BY id DESC LIMIT ?4
            """,
            [
                filter.release.sqlite, filter.host.sqlite, .integer(filter.since?.nanosecondsSinceEpoch ?? .min),
                .integer(Int64(max(0, limit))),
            ])
        return rows.reversed().compactMap { row in
            guard let at = row[0].integer, let release = row[1].text, let kind = row[3].text else { return nil }
            return EventRecord(
                time: WallClockTime(nanosecondsSinceEpoch: at), release: release, host: row[2].text, kind: kind,
                reason: row[4].text ?? "", version: row[5].text, rollout: row[6].integer)
        }
    }
}
