/// A failure of the Erlang distribution layer: EPMD, the handshake, or a connected node.
///
/// The message names what failed, the node (or EPMD host), and what to do. It never contains the cookie.
public struct DistributionError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public enum Code: Sendable, Equatable {
        /// A node name that is not `alive@host`.
        case invalidNodeName
        /// EPMD could not be reached or answered something unexpected.
        case epmdFailed
        /// The byte stream failed or closed during the handshake.
        case connectionFailed
        /// The node refused the connection (status `not_allowed`, `nok`, or similar).
        case connectionRefused
        /// The node closed the connection after our challenge reply: it holds a different cookie.
        case cookieRejected
        /// The node answered our challenge with a wrong digest: it does not know our cookie.
        case peerAuthenticationFailed
        /// The node lacks capabilities this client needs, or speaks another protocol version.
        case unsupportedPeer
        /// The node sent bytes that do not follow the protocol.
        case protocolViolation
        /// The handshake did not finish in time.
        case handshakeTimedOut
        /// The connection is down; the operation cannot be sent.
        case nodeDown
        /// No RPC reply arrived within the timeout.
        case rpcTimedOut
        /// The RPC ran and failed on the node (`{badrpc, Reason}`); `reason` holds `Reason`.
        case badRPC
        /// A term to send holds a value Erlang cannot represent.
        case encodingFailed
        /// The task waiting for the operation was cancelled.
        case cancelled
    }

    /// What failed.
    public let code: Code
    /// The node concerned (`alive@host`), or the EPMD host for EPMD failures.
    public let node: String
    /// What happened, in words, with what to do where that helps.
    public let detail: String
    /// For `.badRPC`, the reason term the node gave.
    public let reason: Term?
    /// The error from the layer below, such as the transport's.
    public let underlyingError: (any Error & Sendable)?

    init(
        _ code: Code, node: String, _ detail: String, reason: Term? = nil,
        underlyingError: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.node = node
        self.detail = detail
        self.reason = reason
        self.underlyingError = underlyingError
    }

    /// One sentence for logs and operators.
    public var description: String {
        let cause = underlyingError.map { " (\($0))" } ?? ""
        switch code {
        case .cookieRejected:
            return "cookie rejected by node \(node): \(detail); check that the configured cookie matches the node's"
        case .epmdFailed:
            return "EPMD on \(node): \(detail)\(cause)"
        case .badRPC:
            return "rpc on node \(node) failed: \(detail): \(reason.map(String.init(describing:)) ?? "no reason")"
        default:
            return "node \(node): \(detail)\(cause)"
        }
    }
}
