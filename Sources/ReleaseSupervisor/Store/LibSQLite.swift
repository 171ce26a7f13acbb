import CSQLite

// Every raw SQLite call of the library lives in this file, behind `SQLiteDatabase`. A database is used by one
// owner at a time (the store's actor), so the connection is opened without SQLite's own mutex.

/// A value in a row or a binding.
enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)

    /// The text, or nil for NULL and integers.
    var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }

    /// The integer, or nil for NULL and text.
    var integer: Int64? {
        if case .integer(let number) = self { return number }
        return nil
    }
}

/// An optional string as a binding: NULL when absent.
extension Optional where Wrapped == String {
    var sqlite: SQLiteValue { map { .text($0) } ?? .null }
}

/// One open SQLite database file. Not shareable: its owner serialises every call.
final class SQLiteDatabase {
    private let handle: OpaquePointer
    /// The database file.
    let path: String

    /// Opens (creating when absent) the database at `path`.
    init(path: String) throws(StoreError) {
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &opened, flags, nil)
        guard code == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(opened)
            throw StoreError(
                .unavailable, path: path, sqliteCode: code, message,
                remedy: "check that the state directory exists and that controlnode may write there")
        }
        handle = opened
        self.path = path
        // The sqlite3 CLI of an operator may hold a read lock for a moment: wait for it instead of failing.
        sqlite3_busy_timeout(handle, 5000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows (schema, pragmas).
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(message)
            throw error(code, text)
        }
    }

    /// Runs one statement with `bindings` (?1, ?2, …) and returns every row it produces.
    @discardableResult
    func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws(StoreError) -> [[SQLiteValue]] {
        var prepared: OpaquePointer?
        var code = sqlite3_prepare_v2(handle, sql, -1, &prepared, nil)
        guard code == SQLITE_OK, let statement = prepared else { throw error(code, lastMessage) }
        defer { sqlite3_finalize(statement) }
        for (offset, value) in bindings.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .null: code = sqlite3_bind_null(statement, index)
            case .integer(let number): code = sqlite3_bind_int64(statement, index, number)
            case .text(let text):
                code = text.withCString { csqlite_bind_text(statement, index, $0, Int32(text.utf8.count)) }
            }
            guard code == SQLITE_OK else { throw error(code, lastMessage) }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            code = sqlite3_step(statement)
            if code == SQLITE_DONE { return rows }
            guard code == SQLITE_ROW else { throw error(code, lastMessage) }
            let columns = sqlite3_column_count(statement)
            rows.append((0..<columns).map { column in
                switch sqlite3_column_type(statement, column) {
                case SQLITE_NULL: .null
                case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, column))
                default: .text(sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "")
                }
            })
        }
    }

    /// The rowid of the last row inserted through this connection.
    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`): committed whole when it returns, rolled back
    /// when it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    private var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

    private func error(_ code: Int32, _ message: String) -> StoreError {
        let primary = code & 0xff
        let kind: StoreError.Code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? .corrupt : .failed
        let remedy: String? =
            switch primary {
            case SQLITE_FULL: "free space in the state directory"
            case SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN: "check that controlnode may write the state directory"
            case SQLITE_CORRUPT, SQLITE_NOTADB:
                "move the file aside and restart (desired versions come back from the configuration)"
            default: nil
            }
        return StoreError(kind, path: path, sqliteCode: code, message, remedy: remedy)
    }
}
