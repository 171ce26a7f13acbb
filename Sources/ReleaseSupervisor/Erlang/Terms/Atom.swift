/// An Erlang atom: a named constant such as `ok`, `rex` or `'Elixir.MyApp'`.
///
/// Atoms compare by name. A string literal makes one: `let name: Atom = "rex"`.
public struct Atom: Hashable, Sendable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The atom's text, in UTF-8 as Erlang holds it since OTP 20.
    public let name: String

    /// Creates the atom named `name`.
    public init(_ name: String) {
        self.name = name
    }

    /// Creates the atom named by a string literal.
    public init(stringLiteral name: String) {
        self.name = name
    }

    /// The longest atom Erlang accepts, in characters.
    public static let maximumLength = 255

    /// `true`, which Erlang represents as an atom.
    public static let `true`: Atom = "true"
    /// `false`, which Erlang represents as an atom.
    public static let `false`: Atom = "false"
    /// `ok`.
    public static let ok: Atom = "ok"
    /// `error`.
    public static let error: Atom = "error"
    /// `undefined`.
    public static let undefined: Atom = "undefined"

    /// Orders atoms by name, as Erlang does.
    public static func < (lhs: Atom, rhs: Atom) -> Bool {
        lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }

    /// The atom as Erlang prints it: bare when it can be, in single quotes otherwise.
    public var description: String {
        needsQuotes ? "'\(escaped)'" : name
    }

    private var needsQuotes: Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return true }
        return !name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_" || scalar == "@"
        }
    }

    private var escaped: String {
        var text = ""
        for character in name {
            switch character {
            case "'": text += "\\'"
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            default: text.append(character)
            }
        }
        return text
    }
}
