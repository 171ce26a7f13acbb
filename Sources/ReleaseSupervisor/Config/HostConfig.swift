/// A `[hosts.NAME]` table: a machine releases run on, reached over SSH.
public struct HostConfig: Sendable, Equatable {
    /// The table's name, which releases use in their `hosts` list.
    public var name: String
    /// IP address or DNS name; the table's name when absent.
    public var address: String
    /// The SSH port.
    public var port: UInt16 = 22
    /// The SSH user.
    public var user: String
    /// A key file (with an optional passphrase file) or the ssh-agent.
    public var authentication: SSHAuthentication
    /// The port EPMD listens on, on the host.
    public var epmdPort: UInt16 = 4369

    /// A host with the default ports.
    public init(
        name: String, address: String? = nil, port: UInt16 = 22, user: String,
        authentication: SSHAuthentication, epmdPort: UInt16 = 4369
    ) {
        self.name = name
        self.address = address ?? name
        self.port = port
        self.user = user
        self.authentication = authentication
        self.epmdPort = epmdPort
    }

    static let keys = ["address", "port", "user", "identity_file", "passphrase_file", "agent", "epmd_port"]
    static let secrets = [
        "password": "controlnode logs in with keys only: set identity_file = \"/etc/controlnode/id_ed25519\" or agent = true",
        "passphrase": "put the key's passphrase in a file readable only by controlnode and set passphrase_file",
    ]

    init(name: String, reading reader: TableReader, secretFiles: inout [SecretFileReference]) throws(ConfigError) {
        self.name = name
        let address = try reader.string("address", example: "\"192.0.2.10\"") ?? name
        guard !address.isEmpty, !address.contains(where: \.isWhitespace) else {
            throw reader.error(
                .invalidValue, "address", "\"\(address)\" is not a host name or address",
                remedy: "write address = \"192.0.2.10\" or a DNS name, without spaces")
        }
        self.address = address
        port = try reader.port("port", example: "22") ?? port
        user = try reader.requiredString("user", example: "\"deploy\"")
        epmdPort = try reader.port("epmd_port", example: "4369") ?? epmdPort

        let identity = try reader.path("identity_file", example: "\"/etc/controlnode/id_ed25519\"")
        let passphrase = try reader.path("passphrase_file", example: "\"/etc/controlnode/id_ed25519.passphrase\"")
        let agent = try reader.boolean("agent") ?? false
        switch (identity, agent) {
        case (let identity?, false):
            authentication = .keyFile(path: identity, passphraseFile: passphrase)
            secretFiles.append(SecretFileReference(reader: reader, key: "identity_file", path: identity))
            if let passphrase {
                secretFiles.append(SecretFileReference(reader: reader, key: "passphrase_file", path: passphrase))
            }
        case (nil, true):
            guard passphrase == nil else {
                throw reader.error(
                    .invalidValue, "passphrase_file", "only applies to identity_file, not to the agent",
                    remedy: "remove passphrase_file, or use identity_file instead of agent")
            }
            authentication = .agent(socketPath: nil)
        case (.some, true):
            throw reader.error(
                .invalidValue, "agent", "both identity_file and agent = true are set",
                remedy: "keep one of them")
        case (nil, false):
            throw reader.missing("identity_file", example: "\"/etc/controlnode/id_ed25519\" (or agent = true)")
        }
    }
}
