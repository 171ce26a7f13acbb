/// An Erlang fun received from a node, kept as an opaque value.
///
/// A fun only means something to the node that holds its code, so this type keeps its encoded form
/// (normalised: atoms in UTF-8, integers in their smallest form) and sends it back as it is; it exposes
/// only what is safe to read. Two funs are equal when their encodings are.
public struct Fun: Hashable, Sendable, CustomStringConvertible {
    /// Whether the fun names an exported function or is a closure in a module.
    public enum Kind: Hashable, Sendable {
        /// `fun Module:Function/Arity`.
        case export(function: Atom)
        /// A closure (`fun(...) -> ... end`) defined in `module`, capturing `freeVariables` values.
        case local(freeVariables: Int)
    }

    /// Whether the fun is an export or a closure.
    public let kind: Kind
    /// The module that defines the fun.
    public let module: Atom
    /// The number of arguments the fun takes.
    public let arity: Int
    /// The fun's external-term encoding, from its tag byte on, in this package's normal form.
    let encoded: [UInt8]

    init(kind: Kind, module: Atom, arity: Int, encoded: [UInt8]) {
        self.kind = kind
        self.module = module
        self.arity = arity
        self.encoded = encoded
    }

    /// `fun m:f/1` for exports, `#Fun<m.1>` for closures.
    public var description: String {
        switch kind {
        case .export(let function): "fun \(module):\(function)/\(arity)"
        case .local: "#Fun<\(module).\(arity)>"
        }
    }
}
