/// An Erlang term: the values that travel between nodes in the external term format.
///
/// Literals read like Erlang at call sites: a string literal is an atom, an array literal a list, a
/// dictionary literal a map, and `.tuple("ok", 42)` a tuple:
///
/// ```swift
/// let request: Term = .tuple("call", "erlang", "node", [], .pid(me))
/// ```
///
/// Integers that fit in `Int` are `.integer`; larger ones are `.bigInteger`, never truncated.
/// Charlists (Erlang strings) are lists of integers; `Term.charlist(_:)` builds one.
public enum Term: Hashable, Sendable {
    /// An atom, such as `ok`.
    case atom(Atom)
    /// An integer that fits in `Int`.
    case integer(Int)
    /// An integer outside `Int`'s range.
    indirect case bigInteger(BigInteger)
    /// A float; Erlang floats are always finite.
    case float(Double)
    /// A binary: a whole number of bytes.
    case binary([UInt8])
    /// A bitstring whose length is not a whole number of bytes.
    indirect case bitBinary(BitBinary)
    /// A proper list; `[]` is the empty list (nil).
    case list([Term])
    /// A list whose last tail is not `[]`, such as `[1 | 2]`; `elements` is never empty.
    indirect case improperList([Term], tail: Term)
    /// A tuple.
    case tuple([Term])
    /// A map; key order carries no meaning.
    case map([Term: Term])
    /// A process identifier.
    indirect case pid(Pid)
    /// A reference.
    indirect case reference(Reference)
    /// A port identifier.
    indirect case port(PortID)
    /// A fun, kept opaque.
    indirect case fun(Fun)
}

extension Term {
    /// A tuple of the given elements: `.tuple("ok", 1)` is `{ok, 1}`.
    public static func tuple(_ elements: Term...) -> Term { .tuple(elements) }

    /// A binary holding `text` in UTF-8, as Elixir strings are.
    public static func binary(_ text: String) -> Term { .binary(Array(text.utf8)) }

    /// A charlist: the list of `text`'s Unicode code points, as Erlang strings are.
    public static func charlist(_ text: String) -> Term {
        .list(text.unicodeScalars.map { .integer(Int($0.value)) })
    }

    /// An integer of any size: `.integer` when it fits in `Int`, `.bigInteger` otherwise.
    public static func integer(_ value: BigInteger) -> Term {
        if let small = value.intValue { return .integer(small) }
        return .bigInteger(value)
    }

    /// `[]`, the empty list.
    public static let emptyList: Term = .list([])
}

extension Term: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// A string literal is an atom.
    public init(stringLiteral value: String) { self = .atom(Atom(value)) }
    /// An integer literal is an integer.
    public init(integerLiteral value: Int) { self = .integer(value) }
    /// A float literal is a float.
    public init(floatLiteral value: Double) { self = .float(value) }
    /// `true` and `false` are the atoms Erlang uses for them.
    public init(booleanLiteral value: Bool) { self = .atom(value ? .true : .false) }
    /// An array literal is a proper list.
    public init(arrayLiteral elements: Term...) { self = .list(elements) }
    /// A dictionary literal is a map.
    public init(dictionaryLiteral elements: (Term, Term)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension Term {
    /// The atom, if this is one.
    public var atomValue: Atom? {
        if case .atom(let atom) = self { return atom }
        return nil
    }

    /// The integer, if this is one that fits in `Int`.
    public var intValue: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements, if this is a tuple.
    public var tupleElements: [Term]? {
        if case .tuple(let elements) = self { return elements }
        return nil
    }

    /// The elements, if this is a proper list.
    public var listElements: [Term]? {
        if case .list(let elements) = self { return elements }
        return nil
    }

    /// The bytes, if this is a binary.
    public var binaryValue: [UInt8]? {
        if case .binary(let bytes) = self { return bytes }
        return nil
    }

    /// The text of a UTF-8 binary or of a charlist; nil for anything else.
    public var stringValue: String? {
        switch self {
        case .binary(let bytes):
            return String(validating: bytes, as: UTF8.self)
        case .list(let elements):
            var scalars = String.UnicodeScalarView()
            for element in elements {
                guard case .integer(let code) = element, let value = UInt32(exactly: code),
                    let scalar = Unicode.Scalar(value)
                else { return nil }
                scalars.append(scalar)
            }
            return String(scalars)
        default:
            return nil
        }
    }

    /// Whether this is the atom `name`.
    public func isAtom(_ name: Atom) -> Bool { atomValue == name }
}
