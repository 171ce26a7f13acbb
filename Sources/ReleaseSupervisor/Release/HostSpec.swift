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

    /// The specification, once its settings are known to be usable.
    ///
    /// - Throws: `ConfigurationError` naming the host, the setting and what to do.
    public func validated() throws(ConfigurationError) -> HostSpec {
        let subject = "host \(name)"
        guard !name.isEmpty else { throw ConfigurationError("host", setting: "name", "every host needs a name") }
        guard !address.isEmpty, !address.contains(where: \.isWhitespace) else {
            throw ConfigurationError(subject, setting: "address", "needs a host name or IP address")
        }
        guard !user.isEmpty, !user.contains(where: { $0.isWhitespace || $0 == "@" }) else {
            throw ConfigurationError(subject, setting: "user", "needs a user name (no spaces or @)")
        }
        guard sshPort > 0, epmdPort > 0 else {
            throw ConfigurationError(subject, setting: "port", "SSH and EPMD ports must be between 1 and 65535")
        }
        guard knownHostsPath.hasPrefix("/") else {
            throw ConfigurationError(subject, setting: "known_hosts", "\(knownHostsPath) must be an absolute path")
        }
        if let learnedKnownHostsPath, !learnedKnownHostsPath.hasPrefix("/") {
            throw ConfigurationError(
                subject, setting: "known_hosts", "the learned file \(learnedKnownHostsPath) must be an absolute path")
        }
        if case .keyFile(let path, let passphraseFile) = authentication {
            guard path.hasPrefix("/"), passphraseFile?.hasPrefix("/") ?? true else {
                throw ConfigurationError(subject, setting: "key_file", "key and passphrase files need absolute paths")
            }
        }
        return self
    }
}
