// Node-bound identifiers: what Erlang calls node containers. Each names the node that made it and
// that node's incarnation (`creation`), so a pid from a restarted node never matches an old one.

/// An Erlang process identifier, such as `<0.123.0>` on a node.
public struct Pid: Hashable, Sendable, CustomStringConvertible {
    /// The node the process runs on.
    public var node: Atom
    /// The process number on that node.
    public var id: UInt32
    /// The serial number that extends `id`.
    public var serial: UInt32
    /// The incarnation of the node that created the pid.
    public var creation: UInt32

    /// Creates a pid from its parts.
    public init(node: Atom, id: UInt32, serial: UInt32, creation: UInt32) {
        self.node = node
        self.id = id
        self.serial = serial
        self.creation = creation
    }

    /// The pid in Erlang's notation, with the node name in place of the local node number.
    public var description: String { "<\(node.name).\(id).\(serial)>" }
}

/// An Erlang reference: a value unique among all connected nodes, used to match replies and monitors.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// The node that made the reference.
    public var node: Atom
    /// The incarnation of that node.
    public var creation: UInt32
    /// The reference's identifying words, one to five of them.
    public var ids: [UInt32]

    /// Creates a reference from its parts.
    public init(node: Atom, creation: UInt32, ids: [UInt32]) {
        self.node = node
        self.creation = creation
        self.ids = ids
    }

    /// The reference in Erlang's notation, with the node name in place of the local node number.
    public var description: String {
        "#Ref<\(node.name).\(ids.reversed().map(String.init).joined(separator: "."))>"
    }
}

/// An Erlang port identifier, such as `#Port<0.7>`.
public struct PortID: Hashable, Sendable, CustomStringConvertible {
    /// The node that owns the port.
    public var node: Atom
    /// The port number on that node (up to 64 bits since OTP 24).
    public var id: UInt64
    /// The incarnation of that node.
    public var creation: UInt32

    /// Creates a port identifier from its parts.
    public init(node: Atom, id: UInt64, creation: UInt32) {
        self.node = node
        self.id = id
        self.creation = creation
    }

    /// The port in Erlang's notation, with the node name in place of the local node number.
    public var description: String { "#Port<\(node.name).\(id)>" }
}
