/// A value from a TOML document, with the line it starts on (for error messages).
struct TOMLValue: Sendable, Equatable {
    /// The kinds of value the configuration uses: TOML's floats and dates are refused by the parser.
    enum Kind: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case array([TOMLValue])
        case table(TOMLTable)
    }

    var kind: Kind
    /// 1-based line of the value's first character.
    var line: Int

    /// The TOML name of the kind, for "expected a string, found an integer".
    var typeName: String {
        switch kind {
        case .string: "a string"
        case .integer: "an integer"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A TOML table: keys in the order written, each with its value and the line of the key.
struct TOMLTable: Sendable, Equatable {
    /// One `key = value` (or sub-table) of the table.
    struct Entry: Sendable, Equatable {
        var key: String
        var value: TOMLValue
        /// 1-based line where the key was written (or, for a table, its header).
        var line: Int
    }

    private(set) var entries: [Entry] = []
    /// Line of the table's header, or of the key that opened it.
    var line: Int
    /// Whether a `[header]` defined it (a second header for it is an error).
    var definedByHeader = false
    /// Inline tables are complete where written; headers and dotted keys may not add to them.
    var isInline = false

    init(line: Int) { self.line = line }

    /// The entry for `key`, if any.
    subscript(key: String) -> Entry? {
        entries.first { $0.key == key }
    }

    /// The position of `key` in `entries`.
    func index(of key: String) -> Int? { entries.firstIndex { $0.key == key } }

    /// Appends an entry; the caller has checked that `key` is new.
    mutating func append(_ entry: Entry) { entries.append(entry) }

    /// Replaces the value of an existing entry (used to descend into sub-tables).
    mutating func setValue(_ value: TOMLValue, at index: Int) { entries[index].value = value }
}
