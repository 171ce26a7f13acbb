/// The state store could not do what was asked: which file, what failed, SQLite's own code, and what to do.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// The database cannot be opened or created.
        case unavailable
        /// The file is not a database, or is damaged.
        case corrupt
        /// The file was written by a newer controlnode whose schema this one does not know.
        case tooNew
        /// A read or write failed.
        case failed
        /// What was asked for does not exist (an operation id, say).
        case notFound
    }

    /// The kind of failure.
    public let code: Code
    /// The database file.
    public let path: String
    /// SQLite's result code, when SQLite reported the failure.
    public let sqliteCode: Int32?
    /// What failed.
    public let message: String
    /// What to do, when there is something specific to say.
    public let remedy: String?

    init(_ code: Code, path: String, sqliteCode: Int32? = nil, _ message: String, remedy: String? = nil) {
        self.code = code
        self.path = path
        self.sqliteCode = sqliteCode
        self.message = message
        self.remedy = remedy
    }

    /// `state store /var/lib/controlnode/state.db: message (SQLite 13); remedy`.
    public var description: String {
        var text = "state store \(path): \(message)"
        if let sqliteCode { text += " (SQLite \(sqliteCode))" }
        if let remedy { text += "; \(remedy)" }
        return text
    }
}
