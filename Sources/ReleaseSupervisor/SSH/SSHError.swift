/// An SSH failure: what failed, on which host, libssh2's own code and text, and what to do.
public struct SSHError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// TCP connect failed or timed out, or the name did not resolve.
        case connectFailed
        /// The SSH handshake (banner, key exchange) failed or timed out.
        case handshakeFailed
        /// The host key is not in known_hosts (strict policy).
        case hostKeyUnknown
        /// The host key differs from the one in known_hosts.
        case hostKeyChanged
        /// The host key is marked @revoked in known_hosts.
        case hostKeyRevoked
        /// known_hosts could not be read or appended to.
        case knownHostsUnusable
        /// The server refused every key offered.
        case authenticationFailed
        /// The private key or passphrase file could not be read or used.
        case keyFileUnusable
        /// No ssh-agent could be reached.
        case agentUnavailable
        /// The server refused to open a channel (for a forward: the target refused or is unreachable).
        case channelOpenFailed
        /// A remote command could not be started.
        case execFailed
        /// An operation did not finish within its timeout.
        case timedOut
        /// An upload failed; nothing was left under the final name.
        case uploadFailed
        /// The uploaded file's SHA-256 on the host differs from the local file's.
        case checksumMismatch
        /// A local file could not be read.
        case localFileUnreadable
        /// A local forward could not listen.
        case listenFailed
        /// The connection died: the server went silent, closed, or the network failed.
        case connectionLost
        /// The connection was closed by its owner.
        case closed
    }

    /// The kind of failure.
    public let code: Code
    /// The host, as `user@address:port`.
    public let host: String
    /// libssh2's error code, when libssh2 reported the failure.
    public let libssh2Code: Int32?
    /// libssh2's text for the failure.
    public let libssh2Message: String?
    /// What failed and what to do, in a sentence or two.
    public let detail: String

    /// Creates an error.
    public init(_ code: Code, host: String, detail: String, libssh2Code: Int32? = nil, libssh2Message: String? = nil) {
        self.code = code
        self.host = host
        self.detail = detail
        self.libssh2Code = libssh2Code
        self.libssh2Message = libssh2Message
    }

    /// Whether the server refused a channel because nothing accepted the connection at the channel's target
    /// (SSH_OPEN_CONNECT_FAILED, which libssh2 reports only in its message), rather than because forwarding is
    /// forbidden or the connection failed.
    public var targetRefusedConnection: Bool {
        code == .channelOpenFailed && libssh2Message?.contains("connect failed") == true
    }

    /// One line: host, what failed, what to do, and libssh2's own words.
    public var description: String {
        var text = "ssh \(host): \(detail)"
        if let libssh2Code {
            let message = libssh2Message.map { $0.isEmpty ? "" : " \($0)" } ?? ""
            text += " (libssh2 \(libssh2Code)\(message))"
        }
        return text
    }
}
