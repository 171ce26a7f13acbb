/// How the SSH layer checks a server's host key against known_hosts.
public enum HostKeyPolicy: String, Sendable, Hashable, CaseIterable {
    /// Unknown and changed keys are refused (the default).
    case strict
    /// Unknown keys are recorded in the learned known_hosts file; changed keys are refused.
    case acceptNew = "accept-new"
    /// No verification; a warning is logged at every connect.
    case off
}

/// How the client proves who it is.
public enum SSHAuthentication: Sendable, Hashable {
    /// A private key file (ed25519 or ecdsa, OpenSSH or PEM format), with an optional file holding its passphrase.
    case keyFile(path: String, passphraseFile: String? = nil)
    /// The identities of an ssh-agent: at `socketPath`, or at `SSH_AUTH_SOCK` when nil.
    case agent(socketPath: String? = nil)
}

/// Where and how to connect: one host, one user.
public struct SSHSettings: Sendable, Hashable {
    /// The host name or address (IPv4 or IPv6).
    public var address: String
    /// The SSH port.
    public var port: UInt16
    /// The user to log in as.
    public var user: String
    /// How to authenticate.
    public var authentication: SSHAuthentication
    /// The OpenSSH-format known_hosts file of pinned keys; it is only read.
    public var knownHostsPath: String
    /// The known_hosts file `accept-new` records new keys in, read as well; a key there never overrides a key
    /// `knownHostsPath` pins for the same host. Nil: `knownHostsPath` itself, as OpenSSH's accept-new does.
    public var learnedKnownHostsPath: String?
    /// How host keys are checked.
    public var hostKeyPolicy: HostKeyPolicy
    /// Bound on TCP connect, handshake and authentication together.
    public var connectTimeout: Duration
    /// How often a silent connection is probed.
    public var keepaliveInterval: Duration
    /// How many intervals without any traffic from the server make the connection dead.
    public var keepaliveMaxMissed: Int

    /// Creates settings; the defaults are those of the daemon's configuration.
    public init(
        address: String, port: UInt16 = 22, user: String, authentication: SSHAuthentication,
        knownHostsPath: String, hostKeyPolicy: HostKeyPolicy = .strict, connectTimeout: Duration = .seconds(10),
        keepaliveInterval: Duration = .seconds(5), keepaliveMaxMissed: Int = 3, learnedKnownHostsPath: String? = nil
    ) {
        self.address = address
        self.port = port
        self.user = user
        self.authentication = authentication
        self.knownHostsPath = knownHostsPath
        self.learnedKnownHostsPath = learnedKnownHostsPath
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveMaxMissed = keepaliveMaxMissed
    }

    /// `user@address:port`, as errors and logs name the host.
    public var endpoint: String {
        let host = address.contains(":") ? "[\(address)]" : address
        return "\(user)@\(host):\(port)"
    }
}
