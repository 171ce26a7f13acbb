/// The state store of one daemon: an SQLite file (`state.db` in the state directory) in WAL mode with full
/// synchronisation, so that every committed write survives a crash of the daemon or of the machine, and a
/// `kill -9` at any moment leaves the file whole. An operator may read it with the `sqlite3` CLI meanwhile.
public actor SQLiteStateStore: StateStore {
    /// The open file; `SQLiteStateStore+Events.swift` writes the event log through it too.
    let database: SQLiteDatabase
    /// The database file.
    public nonisolated let path: String

    /// Opens (creating it, and the directory, when absent) `state.db` in `directory` and migrates it to the
    /// current schema.
    ///
    /// - Throws: `StoreError` when the file cannot be opened, is damaged, or comes from a newer controlnode.
    public init(directory: String) throws(StoreError) {
        do {
            try LocalDirectory.create(directory, mode: 0o750)
        } catch {
            throw StoreError(
                .unavailable, path: directory + "/state.db", "cannot create the state directory (\(error))",
                remedy: "create \(directory) for the controlnode user, or set daemon.state_dir")
        }
        try self.init(path: directory + "/state.db")
    }

    /// Opens (creating when absent) the database file at `path`.
    public init(path: String) throws(StoreError) {
        self.path = path
        database = try SQLiteDatabase(path: path)
        let mode = try database.query("PRAGMA journal_mode = WAL").first?.first?.text
        guard mode == "wal" else {
            throw StoreError(
                .unavailable, path: path, "cannot switch to write-ahead logging (journal mode \(mode ?? "?"))",
                remedy: "put the state directory on a local file system")
        }
        // The file stays small (desired versions, history): a 256 KiB page cache holds it, where SQLite's default
        // 2 MB would only add to the daemon's resident memory.
        try database.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -256")
        try SQLiteSchema.migrate(database)
    }

    /// The schema version of the open file.
    public func schemaVersion() throws(StoreError) -> Int {
        Int(try database.query("PRAGMA user_version").first?.first?.integer ?? 0)
    }

    public func desiredVersions() throws(StoreError) -> [ReleaseHost: DesiredVersion] {
        var desired: [ReleaseHost: DesiredVersion] = [:]
        for row in try database.query("SELECT release, host, version, set_by, operation_id FROM desired") {
            guard let release = row[0].text, let host = row[1].text, let version = row[2].text.flatMap(ReleaseVersion.init)
            else { continue }
            desired[ReleaseHost(release: release, host: host)] = DesiredVersion(
                version: version, setBy: row[3].text ?? "?", operation: row[4].integer)
        }
        return desired
    }

    public func configRequests() throws(StoreError) -> [String: ReleaseVersion] {
        var requests: [String: ReleaseVersion] = [:]
        for row in try database.query("SELECT release, version FROM config_requests") {
            if let release = row[0].text, let version = row[1].text.flatMap(ReleaseVersion.init) {
                requests[release] = version
            }
        }
        return requests
    }

    public func begin(_ record: OperationRecord, configRequest: ReleaseVersion?) throws(StoreError) -> Int64 {
        try database.transaction { () throws(StoreError) in
            try database.query(
                """
                INSERT INTO history (release, kind, version, requested_uid, requested_user, started_at, result, error,
                    settings, phase)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                """,
                [
                    .text(record.release), .text(record.kind.rawValue), record.version.map { "\($0)" }.sqlite,
                    record.requester.uid.map { .integer(Int64($0)) } ?? .null, record.requester.user.sqlite,
                    .text("\(record.startedAt)"), .text(record.result.rawValue), record.error.sqlite,
                    record.settings.sqlite, record.phase.sqlite,
                ])
            let id = database.lastInsertedRowID
            for step in record.hosts { try write(step, of: id) }
            if let configRequest {
                try database.query(
                    "INSERT OR REPLACE INTO config_requests (release, version, applied_at) VALUES (?1, ?2, ?3)",
                    [.text(record.release), .text("\(configRequest)"), .text("\(WallClockTime.now())")])
            }
            return id
        }
    }

    public func record(
        _ step: HostStep, of operation: Int64, release: String, desired: DesiredVersion??, phase: String?
    ) throws(StoreError) {
        try database.transaction { () throws(StoreError) in
            try write(step, of: operation)
            if let phase {
                try database.query("UPDATE history SET phase = ?1 WHERE id = ?2", [.text(phase), .integer(operation)])
            }
            switch desired {
            case .none: break
            case .some(.none):
                try database.query("DELETE FROM desired WHERE release = ?1 AND host = ?2", [.text(release), .text(step.host)])
            case .some(.some(let desired)):
                try database.query(
                    """
                    INSERT OR REPLACE INTO desired (release, host, version, set_by, operation_id, updated_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    """,
                    [
                        .text(release), .text(step.host), .text("\(desired.version)"), .text(desired.setBy),
                        desired.operation.map { .integer($0) } ?? .null, .text("\(WallClockTime.now())"),
                    ])
            }
        }
    }

    private func write(_ step: HostStep, of operation: Int64) throws(StoreError) {
        try database.query(
            """
            INSERT OR REPLACE INTO history_hosts (operation_id, host, position, from_version, to_version, outcome, error,
                updated_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """,
            [
                .integer(operation), .text(step.host), .integer(Int64(step.position)), step.from.map { "\($0)" }.sqlite,
                step.to.map { "\($0)" }.sqlite, .text(step.outcome.rawValue), step.error.sqlite,
                .text("\(WallClockTime.now())"),
            ])
    }

    public func update(operation: Int64, result: OperationResult, error: String?, phase: String?) throws(StoreError) {
        try database.query(
            """
            UPDATE history SET result = ?1, error = ?2, phase = COALESCE(?3, phase),
                ended_at = CASE WHEN ?4 THEN ?5 ELSE NULL END
            WHERE id = ?6
            """,
            [
                .text(result.rawValue), error.sqlite, phase.sqlite, .integer(result.isFinal ? 1 : 0),
                .text("\(WallClockTime.now())"), .integer(operation),
            ])
    }

    public func operation(_ id: Int64) throws(StoreError) -> OperationRecord? {
        try records(where: "id = ?1", [.integer(id)], order: "id", limit: 1).first
    }

    public func history(release: String?, limit: Int) throws(StoreError) -> [OperationRecord] {
        if let release {
            return try records(where: "release = ?1", [.text(release)], order: "id DESC", limit: limit)
        }
        return try records(where: "1", [], order: "id DESC", limit: limit)
    }

    public func unfinished() throws(StoreError) -> [OperationRecord] {
        try records(where: "ended_at IS NULL", [], order: "id", limit: 1000)
    }

    public func updates(release: String, host: String) throws(StoreError) -> [(from: ReleaseVersion?, to: ReleaseVersion)] {
        let rows = try database.query(
            """
            SELECT h.from_version, h.to_version FROM history_hosts h JOIN history o ON o.id = h.operation_id
            WHERE o.release = ?1 AND h.host = ?2 AND h.outcome = 'updated' ORDER BY h.operation_id DESC LIMIT 100
            """,
            [.text(release), .text(host)])
        return rows.compactMap { row in
            guard let to = row[1].text.flatMap(ReleaseVersion.init) else { return nil }
            return (row[0].text.flatMap(ReleaseVersion.init), to)
        }
    }

    public func quarantine(_ entry: QuarantinedVersion) throws(StoreError) {
        try database.query(
            "INSERT OR REPLACE INTO quarantine (release, version, operation_id, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            [
                .text(entry.release), .text("\(entry.version)"), entry.operation.map { .integer($0) } ?? .null,
                .text(entry.reason), .text("\(entry.at)"),
            ])
    }

    public func liftQuarantine(release: String, version: ReleaseVersion) throws(StoreError) {
        try database.query("DELETE FROM quarantine WHERE release = ?1 AND version = ?2", [.text(release), .text("\(version)")])
    }

    public func quarantined(release: String?) throws(StoreError) -> [QuarantinedVersion] {
        let rows = try database.query(
            "SELECT release, version, operation_id, reason, at FROM quarantine WHERE ?1 IS NULL OR release = ?1 ORDER BY at",
            [release.sqlite])
        return rows.compactMap { row in
            guard let release = row[0].text, let version = row[1].text.flatMap(ReleaseVersion.init) else { return nil }
            return QuarantinedVersion(
                release: release, version: version, operation: row[2].integer, reason: row[3].text ?? "",
                at: row[4].text.flatMap { WallClockTime(iso8601: $0) } ?? WallClockTime(nanosecondsSinceEpoch: 0))
        }
    }

    private func records(where condition: String, _ bindings: [SQLiteValue], order: String, limit: Int)
        throws(StoreError) -> [OperationRecord]
    {
        let rows = try database.query(
            """
            SELECT id, release, kind, version, requested_uid, requested_user, started_at, ended_at, result, error,
                settings, phase
            FROM history WHERE \(condition) ORDER BY \(order) LIMIT \(max(0, limit))
            """,
            bindings)
        var records: [OperationRecord] = []
        for row in rows {
            guard let id = row[0].integer, let release = row[1].text,
                let kind = row[2].text.flatMap(OperationKind.init(rawValue:)),
                let result = row[8].text.flatMap(OperationResult.init(rawValue:))
            else { continue }
            var record = OperationRecord(
                release: release, kind: kind, version: row[3].text.flatMap(ReleaseVersion.init),
                requester: Requester(uid: row[4].integer.map { UInt32(truncatingIfNeeded: $0) }, user: row[5].text),
                hosts: try steps(of: id), settings: row[10].text, phase: row[11].text)
            record.id = id
            record.startedAt = row[6].text.flatMap { WallClockTime(iso8601: $0) } ?? record.startedAt
            record.endedAt = row[7].text.flatMap { WallClockTime(iso8601: $0) }
            record.result = result
            record.error = row[9].text
            records.append(record)
        }
        return records
    }

    private func steps(of operation: Int64) throws(StoreError) -> [HostStep] {
        let rows = try database.query(
            """
            SELECT host, position, from_version, to_version, outcome, error FROM history_hosts
            WHERE operation_id = ?1 ORDER BY position
            """,
            [.integer(operation)])
        return rows.compactMap { row in
            guard let host = row[0].text, let outcome = row[4].text.flatMap(HostStep.Outcome.init(rawValue:)) else {
                return nil
            }
            return HostStep(
                host: host, position: Int(row[1].integer ?? 0), from: row[2].text.flatMap(ReleaseVersion.init),
                to: row[3].text.flatMap(ReleaseVersion.init), outcome: outcome, error: row[5].text)
        }
    }
}
