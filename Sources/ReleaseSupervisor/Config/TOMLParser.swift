/// A malformed TOML document: the line and what is wrong there.
struct TOMLSyntaxError: Error, Sendable, Equatable {
    var line: Int
    var message: String
}

/// Parses the subset of TOML the configuration file uses: `[tables]` with dotted names, `key = value` with
/// bare, quoted and dotted keys, basic and literal strings, integers, booleans, arrays (over several lines,
/// with comments) and inline tables. Floats, dates, multi-line strings and `[[arrays of tables]]` are
/// refused with a message that says so, never misread. Every key keeps its line number.
///
/// Written here rather than taken from a TOML package: the one at hand links Foundation and libstdc++,
/// which costs the daemon about 10 MB of its 20 MB budget, and gives no line numbers for keys.
struct TOMLParser {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var root = TOMLTable(line: 1)
    private var currentPath: [String] = []
    /// How many arrays and inline tables enclose the value being parsed.
    private var nesting = 0

    /// The deepest arrays and inline tables may nest, and the most parts a dotted key or table name may have.
    /// The file needs 2 of each; parsing and the tables it builds recurse, so without a bound a few kilobytes
    /// of `[` would exhaust the stack and crash the daemon instead of failing `check-config`.
    static let maximumNesting = 32

    /// Parses `text` into its root table.
    static func parse(_ text: String) throws(TOMLSyntaxError) -> TOMLTable {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.parseDocument()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func parseDocument() throws(TOMLSyntaxError) -> TOMLTable {
        while true {
            skipSpaces()
            guard let byte = peek() else { break }
            switch byte {
            case UInt8(ascii: "#"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                break
            case UInt8(ascii: "["):
                try parseHeader()
            default:
                let keyLine = line
                let path = try parseKeyPath()
                skipSpaces()
                guard peek() == UInt8(ascii: "=") else { throw error("expected '=' after the key \(path.joined(separator: "."))") }
                index += 1
                skipSpaces()
                let value = try parseValue()
                try insert(value, at: currentPath + path, keyLine: keyLine, into: &root)
            }
            try expectLineEnd()
        }
        return root
    }

    // MARK: Tables and keys

    private mutating func parseHeader() throws(TOMLSyntaxError) {
        let headerLine = line
        index += 1
        if peek() == UInt8(ascii: "[") {
            throw error("arrays of tables ([[...]]) are not used in this file; write one [releases.NAME] table each")
        }
        skipSpaces()
        let path = try parseKeyPath()
        skipSpaces()
        guard peek() == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
        index += 1
        try Self.modify(&root, path: path[...], line: headerLine) { table throws(TOMLSyntaxError) in
            if table.definedByHeader {
                throw TOMLSyntaxError(
                    line: headerLine,
                    message: "table [\(path.joined(separator: "."))] is defined twice (first on line \(table.line))")
            }
            table.definedByHeader = true
            table.line = headerLine
        }
        currentPath = path
    }

    private mutating func parseKeyPath() throws(TOMLSyntaxError) -> [String] {
        var path = [try parseKey()]
        while true {
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { return path }
            index += 1
            skipSpaces()
            path.append(try parseKey())
            guard path.count <= Self.maximumNesting else {
                throw error("a key or table name has more than \(Self.maximumNesting) dotted parts")
            }
        }
    }

    private mutating func parseKey() throws(TOMLSyntaxError) -> String {
        switch peek() {
        case UInt8(ascii: "\""): return try parseBasicString()
        case UInt8(ascii: "'"): return try parseLiteralString()
        default:
            let start = index
            while let byte = peek(), Self.isBareKeyByte(byte) { index += 1 }
            guard index > start else {
                let found = peek().map { "'\(Character(Unicode.Scalar($0)))'" } ?? "the end of the file"
                throw error("expected a key (letters, digits, '_' or '-'), found \(found)")
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }

    private func insert(
        _ value: TOMLValue, at path: [String], keyLine: Int, into table: inout TOMLTable
    ) throws(TOMLSyntaxError) {
        let key = path[path.count - 1]
        let dotted = path.joined(separator: ".")
        try Self.modify(&table, path: path.dropLast(), line: keyLine) { table throws(TOMLSyntaxError) in
            if let existing = table[key] {
                throw TOMLSyntaxError(line: keyLine, message: "\(dotted) is set twice (first on line \(existing.line))")
            }
            table.append(TOMLTable.Entry(key: key, value: value, line: keyLine))
        }
    }

    /// Runs `body` on the table at `path` below `table`, creating missing tables on the way.
    private static func modify(
        _ table: inout TOMLTable, path: ArraySlice<String>, line: Int,
        _ body: (inout TOMLTable) throws(TOMLSyntaxError) -> Void
    ) throws(TOMLSyntaxError) {
        guard let first = path.first else { return try body(&table) }
        if let position = table.index(of: first) {
            let entry = table.entries[position]
            guard case .table(var child) = entry.value.kind else {
                throw TOMLSyntaxError(
                    line: line, message: "\(first) already has a value (line \(entry.line)), so it cannot be a table")
            }
            if child.isInline {
                throw TOMLSyntaxError(
                    line: line, message: "\(first) was written as an inline table on line \(entry.line); add keys there")
            }
            try modify(&child, path: path.dropFirst(), line: line, body)
            table.setValue(TOMLValue(kind: .table(child), line: entry.value.line), at: position)
        } else {
            var child = TOMLTable(line: line)
            try modify(&child, path: path.dropFirst(), line: line, body)
            table.append(TOMLTable.Entry(key: first, value: TOMLValue(kind: .table(child), line: line), line: line))
        }
    }

    // MARK: Values

    private mutating func parseValue() throws(TOMLSyntaxError) -> TOMLValue {
        let valueLine = line
        guard let byte = peek() else { throw error("expected a value after '='") }
        switch byte {
        case UInt8(ascii: "\""): return TOMLValue(kind: .string(try parseBasicString()), line: valueLine)
        case UInt8(ascii: "'"): return TOMLValue(kind: .string(try parseLiteralString()), line: valueLine)
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "{"): return try parseInlineTable()
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return TOMLValue(kind: .integer(try parseInteger()), line: valueLine)
        default:
            let start = index
            while let byte = peek(), Self.isBareKeyByte(byte) { index += 1 }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            switch word {
            case "true": return TOMLValue(kind: .boolean(true), line: valueLine)
            case "false": return TOMLValue(kind: .boolean(false), line: valueLine)
            case "": throw error("expected a value: a \"string\", a number, true/false, [array] or { table }")
            default: throw error("text values need quotes: write \"\(word)\"")
            }
        }
    }

    private mutating func parseInteger() throws(TOMLSyntaxError) -> Int {
        let start = index
        if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
        while let byte = peek(), Self.isBareKeyByte(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") {
            index += 1
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        let digits = text.filter { $0 != "_" }
        guard !text.hasSuffix("_"), !text.contains("__"), let value = Int(digits) else {
            throw error("'\(text)' is not a whole number; durations are strings such as \"5s\", and dates are not used")
        }
        return value
    }

    private mutating func parseArray() throws(TOMLSyntaxError) -> TOMLValue {
        let arrayLine = line
        try enterNested()
        defer { nesting -= 1 }
        index += 1
        var elements: [TOMLValue] = []
        while true {
            skipSpacesNewlinesAndComments()
            if peek() == nil { throw TOMLSyntaxError(line: arrayLine, message: "the array is never closed with ']'") }
            if peek() == UInt8(ascii: "]") { break }
            elements.append(try parseValue())
            skipSpacesNewlinesAndComments()
            if peek() == UInt8(ascii: ",") {
                index += 1
            } else if peek() == nil {
                throw TOMLSyntaxError(line: arrayLine, message: "the array is never closed with ']'")
            } else if peek() != UInt8(ascii: "]") {
                throw error("expected ',' or ']' in the array that starts on line \(arrayLine)")
            }
        }
        index += 1
        return TOMLValue(kind: .array(elements), line: arrayLine)
    }

    private mutating func parseInlineTable() throws(TOMLSyntaxError) -> TOMLValue {
        let tableLine = line
        try enterNested()
        defer { nesting -= 1 }
        index += 1
        var table = TOMLTable(line: tableLine)
        skipSpacesNewlinesAndComments()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipSpacesNewlinesAndComments()
                if peek() == nil {
                    throw TOMLSyntaxError(line: tableLine, message: "the inline table is never closed with '}'")
                }
                let keyLine = line
                let path = try parseKeyPath()
                skipSpaces()
                guard peek() == UInt8(ascii: "=") else { throw error("expected '=' after \(path.joined(separator: "."))") }
                index += 1
                skipSpaces()
                let value = try parseValue()
                try insert(value, at: path, keyLine: keyLine, into: &table)
                skipSpacesNewlinesAndComments()
                guard let byte = peek() else {
                    throw TOMLSyntaxError(line: tableLine, message: "the inline table is never closed with '}'")
                }
                guard byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") else {
                    throw error("expected ',' or '}' in the inline table that starts on line \(tableLine)")
                }
                index += 1
                if byte == UInt8(ascii: "}") { break }
            }
        }
        table.isInline = true
        return TOMLValue(kind: .table(table), line: tableLine)
    }

    /// Counts one more enclosing array or inline table; the caller counts it back out when done.
    private mutating func enterNested() throws(TOMLSyntaxError) {
        guard nesting < Self.maximumNesting else {
            throw error("arrays and inline tables nest more than \(Self.maximumNesting) deep")
        }
        nesting += 1
    }

    // MARK: Strings

    private mutating func parseBasicString() throws(TOMLSyntaxError) -> String {
        if bytes[index...].starts(with: [0x22, 0x22, 0x22]) {
            throw error("multi-line strings (\"\"\") are not used in this file; write the value on one line")
        }
        index += 1
        var scalars = String.UnicodeScalarView()
        var segmentStart = index
        func flush(_ end: Int) { scalars.append(contentsOf: String(decoding: bytes[segmentStart..<end], as: UTF8.self).unicodeScalars) }
        while true {
            guard let byte = peek(), byte != UInt8(ascii: "\n") else { throw error("a string is missing its closing '\"'") }
            if byte == UInt8(ascii: "\"") {
                flush(index)
                index += 1
                return String(scalars)
            }
            if byte == UInt8(ascii: "\\") {
                flush(index)
                index += 1
                scalars.append(try parseEscape())
                segmentStart = index
                continue
            }
            if byte < 0x20 && byte != UInt8(ascii: "\t") { throw error("control characters must be escaped in strings") }
            index += 1
        }
    }

    private mutating func parseEscape() throws(TOMLSyntaxError) -> Unicode.Scalar {
        guard let byte = peek() else { throw error("a string ends in the middle of an escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = byte == UInt8(ascii: "u") ? 4 : 8
            guard index + count <= bytes.count,
                let code = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                let scalar = Unicode.Scalar(code)
            else { throw error("\\\(Character(Unicode.Scalar(byte))) must be followed by \(count) hex digits of a character") }
            index += count
            return scalar
        default:
            throw error("unknown escape '\\\(Character(Unicode.Scalar(byte)))'; use '\\\\' for a backslash")
        }
    }

    private mutating func parseLiteralString() throws(TOMLSyntaxError) -> String {
        if bytes[index...].starts(with: [0x27, 0x27, 0x27]) {
            throw error("multi-line strings (''') are not used in this file; write the value on one line")
        }
        index += 1
        let start = index
        while let byte = peek(), byte != UInt8(ascii: "'") {
            if byte == UInt8(ascii: "\n") { break }
            index += 1
        }
        guard peek() == UInt8(ascii: "'") else { throw error("a string is missing its closing \"'\"") }
        defer { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // MARK: Whitespace, comments and line ends

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
    }

    private mutating func skipComment() {
        while let byte = peek(), byte != UInt8(ascii: "\n") { index += 1 }
    }

    /// After a header or a key/value: only spaces, a comment, then a line break or the end of the file.
    private mutating func expectLineEnd() throws(TOMLSyntaxError) {
        skipSpaces()
        if peek() == UInt8(ascii: "#") { skipComment() }
        if peek() == UInt8(ascii: "\r") { index += 1 }
        guard let byte = peek() else { return }
        guard byte == UInt8(ascii: "\n") else { throw error("expected the end of the line after the value") }
        index += 1
        line += 1
    }

    private mutating func skipSpacesNewlinesAndComments() {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
            case UInt8(ascii: "#"): skipComment()
            default: return
            }
        }
    }

    private func error(_ message: String) -> TOMLSyntaxError { TOMLSyntaxError(line: line, message: message) }

    private static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
