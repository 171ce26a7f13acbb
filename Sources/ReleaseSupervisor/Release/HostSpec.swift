/// A host releases run on, and how to reach it over SSH and find its EPMD.
public struct HostSpec: Sendable, Equatable {
    /// The name the configuration and logs use, as `web1`.
    public var name: String
    /// The host name or IP address to connect to.
    public var address: String
    /// The SSH port.
    public var sshPort: UInt16
    /// The user to log in as; releases run as this user.
    public var user: String
    /// A private key file, or an ssh-agent.
    public var authentication: SSHAuthentication
    /// The known_hosts file of pinned keys the host key is checked against.
    public var knownHostsPath: String
    /// The known_hosts file `accept-new` records new keys in (read too; a pinned key wins), or nil for
    /// `knownHostsPath` itself.
    public var learnedKnownHostsPath: String?
    /// How the host key is checked.
    public var hostKeyPolicy: HostKeyPolicy
    /// The port of EPMD on the host (reached through SSH, on the host's loopback).
    public var epmdPort: UInt16

    /// Creates a host specification; the defaults are SSH on 22, strict host keys and EPMD on 4369.
    public init(
        name: String, address: String, sshPort: UInt16 = 22, user: String, authentication: SSHAuthentication,
        knownHostsPath: String, hostKeyPolicy: HostKeyPolicy = .strict, epmdPort: UInt16 = 4369
    ) {
        self.name = name
        self.address = address
        self.sshPort = sshPort
        self.user = user
        self.authentication = authentication
        self.knownHostsPath = knownHostsPath
        self.hostKeyPolicy = hostKeyPolicy
        self.epmdPort = epmdPort
    }

    /// How often a silent SSH connection to the host is probed; dead after three silent intervals.
    public var keepaliveInterval: Duration = .seconds(5)

    /// The SSH layer's settings for this host.
    public var sshSettings: SSHSettings {
        SSHSettings(
            address: address, port: sshPort, user: user, authentication: authentication,
            knownHostsPath: knownHostsPath, hostKeyPolicy: hostKeyPolicy, keepaliveInterval: keepaliveInterval,
            learnedKnownHostsPath: learnedKnownHostsPath)
    }
}
