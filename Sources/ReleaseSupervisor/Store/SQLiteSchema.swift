/// The state database's schema, version by version. `PRAGMA user_version` holds the version a file is at; a
/// newer daemon applies the migrations after it in order, each in its own transaction, so a file is always at
/// one version or the next, never in between. Times are UTC text (`2026-12-01T09:00:00Z`) so that an operator's
/// `sqlite3` shows them as they are.
enum SQLiteSchema {
    /// Migration `n` (1-based) takes a file from version n-1 to n. Append only: a released step never changes.
    static let migrations: [String] = [
        """
        CREATE TABLE desired (
            release TEXT NOT NULL,
            host TEXT NOT NULL,
            version TEXT NOT NULL,
            set_by TEXT NOT NULL,
            operation_id INTEGER,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (release, host)
        ) WITHOUT ROWID;
        CREATE TABLE config_requests (
            release TEXT PRIMARY KEY,
            version TEXT NOT NULL,
            applied_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            release TEXT NOT NULL,
            kind TEXT NOT NULL,
            version TEXT,
            requested_uid INTEGER,
            requested_user TEXT,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            result TEXT NOT NULL,
            error TEXT,
            settings TEXT,
            phase TEXT
        );
        CREATE INDEX history_release ON history (release, id);
        CREATE INDEX history_unfinished ON history (result) WHERE ended_at IS NULL;
        CREATE TABLE history_hosts (
            operation_id INTEGER NOT NULL REFERENCES history (id),
            host TEXT NOT NULL,
            position INTEGER NOT NULL,
            from_version TEXT,
            to_version TEXT,
            outcome TEXT NOT NULL,
            error TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (operation_id, host)
        ) WITHOUT ROWID;
        CREATE INDEX history_hosts_host ON history_hosts (host, outcome);
        CREATE TABLE quarantine (
            release TEXT NOT NULL,
            version TEXT NOT NULL,
            operation_id INTEGER,
            reason TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (release, version)
        ) WITHOUT ROWID;
        """,
        // 2: the event log behind `controlnode events --since`, bounded on insert (`EventStoreLimits`: 30 days,
        // 100 000 rows). `at_ns` orders and prunes; `at` is the same moment for an operator's `sqlite3`.
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at_ns INTEGER NOT NULL,
            at TEXT NOT NULL,
            release TEXT NOT NULL,
            host TEXT,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            version TEXT,
            rollout_id INTEGER
        );
        CREATE INDEX events_at ON events (at_ns);
        """,
    ]

    /// The version this daemon writes.
    static var current: Int { migrations.count }

    /// Brings `database` to the current version.
    ///
    /// - Throws: `StoreError.tooNew` for a file of a newer daemon, which this one must not write.
    static func migrate(_ database: SQLiteDatabase) throws(StoreError) {
        let found = Int(try database.query("PRAGMA user_version").first?.first?.integer ?? 0)
        guard found <= current else {
            throw StoreError(
                .tooNew, path: database.path,
                "written by a newer controlnode (schema \(found); this one knows up to \(current))",
                remedy: "run the newer controlnode, or move the file aside to start with an empty history")
        }
        for version in found..<current {
            try database.transaction { () throws(StoreError) in
                try database.execute(migrations[version])
                try database.execute("PRAGMA user_version = \(version + 1)")
            }
        }
    }
}
