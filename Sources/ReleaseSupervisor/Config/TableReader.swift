/// Reads one TOML table into configuration values, producing `ConfigError`s that name the file, the line
/// and the dotted key. Unknown keys are refused when the reader is made, so a typo is reported before
/// anything that follows from it.
struct TableReader {
    let table: TOMLTable
    /// The table's dotted name, such as `releases.service_app`; empty for the root.
    let path: String
    let file: String

    /// - Parameters:
    ///   - allowed: the keys this table may have.
    ///   - secrets: keys that would put a secret into the file, with the advice to give instead.
    ///   - allowingAny: for tables of named tables (`[hosts]`), whose keys are the names.
    init(
        _ table: TOMLTable, path: String, file: String, allowed: [String], secrets: [String: String] = [:],
        allowingAny: Bool = false
    ) throws(ConfigError) {
        self.table = table
        self.path = path
        self.file = file
        for entry in table.entries where !allowingAny && !allowed.contains(entry.key) {
            if let advice = secrets[entry.key] {
                throw error(.inlineSecret, entry.key, "secrets are not written into this file", remedy: advice)
            }
            let place = path.isEmpty ? "at the top level" : "in [\(path)]"
            throw error(
                .unknownKey, entry.key, "unknown key \(place)",
                remedy: "allowed keys are \(allowed.joined(separator: ", "))")
        }
    }

    /// The dotted name of `key` in this table.
    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The line of `key`, or of the table's header when the key is absent.
    func line(of key: String) -> Int { table[key]?.line ?? table.line }

    func error(_ code: ConfigError.Code, _ key: String, _ problem: String, remedy: String? = nil) -> ConfigError {
        ConfigError(code, file: file, line: line(of: key), key: keyPath(key), problem: problem, remedy: remedy)
    }

    func missing(_ key: String, example: String) -> ConfigError {
        error(.missingKey, key, "missing in [\(path)]", remedy: "add \(key) = \(example)")
    }

    private func wrongType(_ key: String, _ value: TOMLValue, expected: String, example: String) -> ConfigError {
        error(.wrongType, key, "expected \(expected), found \(value.typeName)", remedy: "write \(key) = \(example)")
    }

    // MARK: Scalars

    func string(_ key: String, example: String) throws(ConfigError) -> String? {
        guard let value = table[key]?.value else { return nil }
        guard case .string(let text) = value.kind else {
            throw wrongType(key, value, expected: "a string", example: example)
        }
        return text
    }

    func requiredString(_ key: String, example: String) throws(ConfigError) -> String {
        guard let text = try string(key, example: example) else { throw missing(key, example: example) }
        guard !text.isEmpty else { throw error(.invalidValue, key, "must not be empty", remedy: "write \(key) = \(example)") }
        return text
    }

    /// An absolute path: relative paths would depend on the directory the daemon was started from.
    func path(_ key: String, example: String) throws(ConfigError) -> String? {
        guard let text = try string(key, example: example) else { return nil }
        guard text.hasPrefix("/") else {
            throw error(.invalidValue, key, "\"\(text)\" is not an absolute path", remedy: "write \(key) = \(example)")
        }
        guard !text.split(separator: "/").contains(".."), !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw error(
                .invalidValue, key, "\(text.debugDescription) holds '..' or a control character",
                remedy: "write the plain absolute path, as \(key) = \(example)")
        }
        return text
    }

    func requiredPath(_ key: String, example: String) throws(ConfigError) -> String {
        guard let text = try path(key, example: example) else { throw missing(key, example: example) }
        return text
    }

    func integer(_ key: String, in range: ClosedRange<Int>, example: String) throws(ConfigError) -> Int? {
        guard let value = table[key]?.value else { return nil }
        guard case .integer(let number) = value.kind else {
            throw wrongType(key, value, expected: "a whole number", example: example)
        }
        guard range.contains(number) else {
            throw error(.invalidValue, key, "\(number) is out of range", remedy: "use \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    func port(_ key: String, example: String) throws(ConfigError) -> UInt16? {
        try integer(key, in: 1...65535, example: example).map { UInt16($0) }
    }

    func boolean(_ key: String) throws(ConfigError) -> Bool? {
        guard let value = table[key]?.value else { return nil }
        guard case .boolean(let flag) = value.kind else {
            throw wrongType(key, value, expected: "true or false", example: "true")
        }
        return flag
    }

    /// A positive duration written as "500ms", "5s", "5m" or "1h" (or "0s", with `allowingZero`).
    /// A duration (`"5s"`), positive unless `allowingZero`, at most `maximum`: a typo such as `"5h"` for
    /// `"5s"` would otherwise leave a host unwatched for hours.
    func duration(
        _ key: String, example: String, allowingZero: Bool = false, maximum: Duration = .seconds(24 * 3600)
    ) throws(ConfigError) -> Duration? {
        guard let value = table[key]?.value else { return nil }
        guard case .string(let text) = value.kind else {
            throw wrongType(key, value, expected: "a duration string", example: "\"\(example)\"")
        }
        guard let duration = ConfigDuration.parse(text), duration > .zero || allowingZero else {
            let least = allowingZero ? "a whole number" : "a positive whole number"
            throw error(
                .invalidValue, key, "\"\(text)\" is not a duration",
                remedy: "write \(least) and a unit: \"500ms\", \"5s\", \"5m\" or \"1h\"")
        }
        guard duration <= maximum else {
            throw error(
                .invalidValue, key, "\"\(text)\" is longer than \(ConfigDuration.render(maximum))",
                remedy: "use at most \(ConfigDuration.render(maximum)), such as \"\(example)\"")
        }
        return duration
    }

    /// One of a fixed set of words (`strict | accept-new | off`).
    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, _: Choice.Type) throws(ConfigError) -> Choice?
    where Choice.RawValue == String {
        let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        guard let text = try string(key, example: "\"\(Choice.allCases.first?.rawValue ?? "")\"") else { return nil }
        guard let choice = Choice(rawValue: text) else {
            throw error(.invalidValue, key, "\"\(text)\" is not allowed", remedy: "use one of \(allowed)")
        }
        return choice
    }

    /// A name used in node names, journal fields and file names: letters, digits, `_` and `-`.
    static func isPlainName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }

    // MARK: Arrays and tables

    func array(_ key: String, example: String) throws(ConfigError) -> [TOMLValue]? {
        guard let value = table[key]?.value else { return nil }
        guard case .array(let elements) = value.kind else {
            throw wrongType(key, value, expected: "an array", example: example)
        }
        return elements
    }

    func stringArray(_ key: String, example: String) throws(ConfigError) -> [String]? {
        guard let elements = try array(key, example: example) else { return nil }
        var strings: [String] = []
        for element in elements {
            guard case .string(let text) = element.kind else {
                throw error(
                    .wrongType, key, "every element must be a string, found \(element.typeName)",
                    remedy: "write \(key) = \(example)")
            }
            strings.append(text)
        }
        return strings
    }

    /// The sub-table `key` (inline or `[path.key]`), read with its own allowed keys.
    func table(
        _ key: String, allowed: [String], example: String, secrets: [String: String] = [:], allowingAny: Bool = false
    ) throws(ConfigError) -> TableReader? {
        guard let value = table[key]?.value else { return nil }
        guard case .table(let child) = value.kind else {
            throw wrongType(key, value, expected: "a table", example: example)
        }
        return try TableReader(
            child, path: keyPath(key), file: file, allowed: allowed, secrets: secrets, allowingAny: allowingAny)
    }

    /// The sub-tables of this table in file order (`[hosts.web1]`, `[hosts.web2]`), each with its name.
    func namedTables() throws(ConfigError) -> [(name: String, table: TOMLTable)] {
        var tables: [(String, TOMLTable)] = []
        for entry in table.entries {
            guard case .table(let child) = entry.value.kind else {
                throw error(
                    .wrongType, entry.key, "expected a table, found \(entry.value.typeName)",
                    remedy: "write it as a [\(keyPath(entry.key))] table")
            }
            tables.append((entry.key, child))
        }
        return tables
    }
}
