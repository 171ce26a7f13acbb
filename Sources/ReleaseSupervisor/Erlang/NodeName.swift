#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A distributed Erlang node's name, `alive@host`, such as `myapp@web1` or `myapp@10.0.0.5`.
public struct NodeName: Hashable, Sendable, CustomStringConvertible {
    /// The part before `@`: the name the node registers in EPMD.
    public let alive: String
    /// The part after `@`.
    public let host: String

    /// Creates the name `alive@host`.
    ///
    /// - Throws: `DistributionError` with code `.invalidNodeName` when either part is empty or has an `@`.
    public init(alive: String, host: String) throws(DistributionError) {
        guard !alive.isEmpty, !host.isEmpty, !alive.contains("@"), !host.contains("@"),
            alive.utf8.count + host.utf8.count < Atom.maximumLength
        else {
            throw DistributionError(
                .invalidNodeName, node: "\(alive)@\(host)",
                "a node name is alive@host with both parts non-empty, no second @, under 255 characters")
        }
        self.alive = alive
        self.host = host
    }

    /// Parses `alive@host`.
    ///
    /// - Throws: `DistributionError` with code `.invalidNodeName` when `text` is not of that form.
    public init(_ text: String) throws(DistributionError) {
        guard let at = text.firstIndex(of: "@") else {
            throw DistributionError(.invalidNodeName, node: text, "expected alive@host")
        }
        try self.init(alive: String(text[..<at]), host: String(text[text.index(after: at)...]))
    }

    /// Whether the name is a long name (`-name`, host with dots) rather than a short one (`-sname`).
    ///
    /// Erlang refuses connections between the two modes, so our name must use the peer's.
    public var usesLongNames: Bool { host.contains(".") || host.contains(":") }

    /// `alive@host`.
    public var description: String { "\(alive)@\(host)" }

    /// The name as the atom that appears in pids and references.
    public var atom: Atom { Atom(description) }

    private static let counter = Atomic<UInt64>(0)

    /// A fresh name for a hidden node of this process, in the same naming mode as `peer`.
    ///
    /// The alive part is unique within the process (`prefix_pid_n`) so that several connections to one
    /// node never look to it like a reconnecting node. The host is this machine's name, shortened for
    /// short names; for long names on a machine whose name has no dot it falls back to `127.0.0.1`.
    public static func unique(prefix: String = "controlnode", matching peer: NodeName) -> NodeName {
        let count = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let alive = "\(prefix)_\(getpid())_\(count)"
        let machine = hostName()
        let host: String
        if peer.usesLongNames {
            host = machine.contains(".") ? machine : "127.0.0.1"
        } else {
            host = String(machine.prefix { $0 != "." })
        }
        // Both parts are non-empty and free of "@" by construction, so no validation is needed.
        return NodeName(validAlive: alive, host: host.isEmpty || host.contains("@") ? "localhost" : host)
    }

    private init(validAlive alive: String, host: String) {
        self.alive = alive
        self.host = host
    }

    /// This machine's host name as `gethostname` gives it ("localhost" when it fails).
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
