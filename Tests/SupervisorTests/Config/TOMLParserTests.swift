import Testing

@testable import ReleaseSupervisor

@Suite("the TOML subset parser")
struct TOMLParserTests {
    private func value(_ table: TOMLTable, _ path: String...) -> TOMLValue.Kind? {
        var current = table
        for key in path.dropLast() {
            guard case .table(let child)? = current[key]?.value.kind else { return nil }
            current = child
        }
        return current[path.last!]?.value.kind
    }

    @Test("strings, escapes, integers, booleans, arrays over lines, inline tables, dotted and quoted keys")
    func values() throws {
        let table = try TOMLParser.parse(
            """
            # comment
            title = "a \\"quoted\\" \\\\ word\\t\\u00e9" # trailing comment
            literal = 'C:\\path'
            big = 1_000_000
            negative = -42
            flag = true
            list = [
              "one", # first
              'two',
            ]
            empty = []
            inline = { a = 1, b.c = "d", nested = { e = false } }
            site."web.example".port = 8080
            [a.b]
            "key with spaces" = "x"\r
            """)
        #expect(value(table, "title") == .string("a \"quoted\" \\ word\té"))
        #expect(value(table, "literal") == .string("C:\\path"))
        #expect(value(table, "big") == .integer(1_000_000))
        #expect(value(table, "negative") == .integer(-42))
        #expect(value(table, "flag") == .boolean(true))
        guard case .array(let list)? = value(table, "list") else { Issue.record("list is not an array"); return }
        #expect(list.map(\.kind) == [.string("one"), .string("two")])
        #expect(list.map(\.line) == [8, 9])
        #expect(value(table, "empty") == .array([]))
        #expect(value(table, "inline", "b", "c") == .string("d"))
        #expect(value(table, "inline", "nested", "e") == .boolean(false))
        #expect(value(table, "site", "web.example", "port") == .integer(8080))
        #expect(value(table, "a", "b", "key with spaces") == .string("x"))
        #expect(table["flag"]?.line == 6)
    }

    @Test("keys keep their line numbers, and tables their header's")
    func lines() throws {
        let table = try TOMLParser.parse("\n[hosts.web1]\n\naddress = \"x\"\n[hosts.web2]\nport = 22\n")
        guard case .table(let hosts)? = table["hosts"]?.value.kind,
            case .table(let web1)? = hosts["web1"]?.value.kind,
            case .table(let web2)? = hosts["web2"]?.value.kind
        else {
            Issue.record("hosts.web1 and hosts.web2 should be tables")
            return
        }
        #expect(web1.line == 2 && web1["address"]?.line == 4)
        #expect(web2.line == 5 && web2["port"]?.line == 6)
        #expect(hosts.entries.map(\.key) == ["web1", "web2"])
    }

    @Test(
        "malformed text is refused with its line",
        arguments: [
            ("a = \"unterminated\n", 1, "closing"),
            ("a = 1\nb = \"\\q\"\n", 2, "unknown escape"),
            ("a = 1 2\n", 1, "end of the line"),
            ("a = [1,\n2\n", 1, "never closed"),
            ("a = { b = 1 \n", 1, "never closed"),
            ("a = 2024-01-01\n", 1, "dates"),
            ("a = 1.5\n", 1, "whole number"),
            ("= 1\n", 1, "expected a key"),
            ("a = \"\"\"x\"\"\"\n", 1, "multi-line"),
            ("a = 1\n[a]\n", 2, "already has a value"),
            ("t = { x = 1 }\n[t]\n", 2, "inline table"),
            ("a\n", 1, "expected '='"),
        ])
    func malformed(text: String, line: Int, words: String) {
        #expect {
            _ = try TOMLParser.parse(text)
        } throws: { error in
            guard let error = error as? TOMLSyntaxError else { return false }
            return error.line == line && error.message.contains(words)
        }
    }

    /// Inputs that nest 100,000 deep; named, so that a test case's name is not the whole text.
    enum DeepInput: String, CaseIterable, Sendable {
        case arrays, inlineTables, tableName, dottedKey

        var text: String {
            let parts = Array(repeating: "a", count: 100_000).joined(separator: ".")
            switch self {
            case .arrays: return "a = " + String(repeating: "[", count: 100_000)
            case .inlineTables: return "a = " + String(repeating: "{b=", count: 100_000)
            case .tableName: return "[\(parts)]\n"
            case .dottedKey: return "\(parts) = 1\n"
            }
        }

        var words: String { self == .arrays || self == .inlineTables ? "nest more than" : "dotted parts" }
    }

    // Found reading the parser, confirmed with the toml-config fuzz target (FUZZING.md): `a = ` and 4,000 `[`
    // overflowed the stack.
    @Test("deep nesting and long dotted keys are refused, not a stack overflow", arguments: DeepInput.allCases)
    func deepNesting(input: DeepInput) {
        #expect {
            _ = try TOMLParser.parse(input.text)
        } throws: { error in
            (error as? TOMLSyntaxError)?.message.contains(input.words) == true
        }
    }

    @Test("nesting up to the limit still parses")
    func nestingAtTheLimit() throws {
        let depth = TOMLParser.maximumNesting
        let array = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let key = Array(repeating: "k", count: depth).joined(separator: ".")
        let table = try TOMLParser.parse("a = \(array)\n\(key) = 1\n")
        #expect(table["a"] != nil && table["k"] != nil)
    }
}
