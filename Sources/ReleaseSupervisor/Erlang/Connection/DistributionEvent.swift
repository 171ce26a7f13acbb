/// Something that happened on a distribution connection, in the order it happened.
///
/// The stream of events (`DistributionConnection.events`) ends with exactly one `.nodedown`.
public enum DistributionEvent: Sendable, Equatable {
    /// A process we monitor exited, or did not exist.
    case processDown(ProcessDown)
    /// A message to our process that is not an RPC reply, such as one sent back by a remote process.
    case message(Term)
    /// The connection ended; no event follows.
    case nodedown(NodeDownReason)
}

/// A monitored process ended (the DOWN message of `erlang:monitor/2`).
public struct ProcessDown: Sendable, Equatable {
    /// The reference `monitor` returned.
    public let reference: Reference
    /// The process: its pid, or its registered name when monitored by name.
    public let process: Term
    /// The exit reason, such as `normal`, `noproc` or `{shutdown, Why}`.
    public let reason: Term
}

/// Why a distribution connection ended.
public enum NodeDownReason: Sendable, Equatable, CustomStringConvertible {
    /// The node closed the connection (it stopped, or was killed and its kernel closed the socket).
    case closedByPeer
    /// The transport failed, for example with a connection reset.
    case connectionLost(String)
    /// Nothing arrived from the node for the tick timeout: it hangs, or the network does.
    case tickTimeout(Duration)
    /// The node sent something that breaks the protocol; the connection was dropped.
    case protocolError(String)
    /// The node stopped reading what we send: `queuedBytes` waited to be written, and one more packet
    /// would have passed `limit` (`DistributionConfiguration.maximumQueuedOutput`).
    case notReading(queuedBytes: Int, limit: Int)
    /// We closed the connection (`close()`, or the task running the connection was cancelled).
    case closedLocally

    /// The reason in words.
    public var description: String {
        switch self {
        case .closedByPeer: "the node closed the connection"
        case .connectionLost(let detail): "the connection failed: \(detail)"
        case .tickTimeout(let timeout): "no sign of life from the node for \(timeout)"
        case .protocolError(let detail): "protocol error: \(detail)"
        case .notReading(let queued, let limit):
            "the node stopped reading: \(queued) bytes wait to be sent to it, and the limit is \(limit)"
        case .closedLocally: "closed locally"
        }
    }

    /// The reason as a metric label: `closed_by_peer`, `connection_lost`, `tick_timeout`, `protocol_error`,
    /// `not_reading` or `closed_locally`.
    public var label: String {
        switch self {
        case .closedByPeer: "closed_by_peer"
        case .connectionLost: "connection_lost"
        case .tickTimeout: "tick_timeout"
        case .protocolError: "protocol_error"
        case .notReading: "not_reading"
        case .closedLocally: "closed_locally"
        }
    }
}
