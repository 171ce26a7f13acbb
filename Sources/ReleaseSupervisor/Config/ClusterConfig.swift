/// The `[cluster]` table: several daemons that share the fleet through etcd. Absent, the daemon works alone.
public struct ClusterConfig: Sendable, Equatable {
    /// How the members share the pairs.
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// One member, the leader, supervises every pair; the others wait to take over.
        case activeStandby = "active-standby"
        /// Every live member supervises the pairs that rendezvous hashing gives it.
        case sharded
    }

    /// One etcd endpoint, as `http://10.0.0.5:2379` or `https://etcd1:2379`.
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        /// Whether the endpoint is reached through TLS.
        public var tls: Bool
        /// The host name or address (IPv6 without brackets).
        public var host: String
        /// The TCP port.
        public var port: Int

        /// `http://host:port`, IPv6 in brackets.
        public var description: String {
            let shown = host.contains(":") ? "[\(host)]" : host
            return "\(tls ? "https" : "http")://\(shown):\(port)"
        }

        /// Parses `http://host:port` or `https://host:port`; nil with the reason when it is not one.
        public static func parse(_ text: String) -> Result<Endpoint, EndpointProblem> {
            let tls: Bool
            let rest: Substring
            if text.hasPrefix("http://") {
                (tls, rest) = (false, text.dropFirst(7))
            } else if text.hasPrefix("https://") {
                (tls, rest) = (true, text.dropFirst(8))
            } else {
                return .failure(EndpointProblem(reason: "does not start with http:// or https://"))
            }
            let authority = rest.hasSuffix("/") ? rest.dropLast() : rest
            let host: Substring
            let portText: Substring
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]"), authority[authority.index(after: close)...].hasPrefix(":")
                else { return .failure(EndpointProblem(reason: "an IPv6 address needs a port after ']'")) }
                host = authority[authority.index(after: authority.startIndex)..<close]
                portText = authority[authority.index(close, offsetBy: 2)...]
            } else {
                guard let colon = authority.lastIndex(of: ":") else {
                    return .failure(EndpointProblem(reason: "has no port"))
                }
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            }
            guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") })
            else { return .failure(EndpointProblem(reason: "has no valid host (a path or user part is not allowed)")) }
            guard let port = Int(portText), (1...65535).contains(port) else {
                return .failure(EndpointProblem(reason: "has no valid port"))
            }
            return .success(Endpoint(tls: tls, host: String(host), port: port))
        }
    }

    /// Why an endpoint was refused.
    public struct EndpointProblem: Error, Sendable, Equatable {
        /// What is wrong with it.
        public var reason: String
    }

    /// The etcd cluster's client endpoints, tried in turn.
    public var endpoints: [Endpoint]
    /// This daemon's name among the members, unique per daemon (the host name unless set).
    public var memberName: String
    /// How long this member's lease lives without a renewal; renewed at a third of it.
    public var leaseTTL: Duration = .seconds(10)
    /// How the members share the pairs.
    public var mode: Mode = .activeStandby
    /// Where every key of this fleet goes in etcd, ending in '/'.
    public var keyPrefix = "/controlnode/"
    /// The CA certificate file that signs the etcd servers' certificates (PEM), for https endpoints.
    public var caFile: String?
    /// This member's client certificate file (PEM).
    public var certFile: String?
    /// The client certificate's private key file (PEM), kept like a cookie file.
    public var keyFile: String?
    /// The etcd user, when etcd's authentication is on.
    public var user: String?
    /// The file holding that user's password.
    public var passwordFile: String?

    /// A cluster of `endpoints` with the defaults for everything else.
    public init(endpoints: [Endpoint], memberName: String) {
        self.endpoints = endpoints
        self.memberName = memberName
    }

    /// The short host name, with what a member name cannot hold turned into '-'.
    static func defaultMemberName() -> String {
        let short = NodeName.hostName().prefix { $0 != "." }
        let name = String(short.map { TableReader.isPlainName(String($0)) ? $0 : "-" }.prefix(64))
        return name.isEmpty ? "localhost" : name
    }

    static let keys = [
        "etcd_endpoints", "member_name", "lease_ttl", "mode", "key_prefix", "ca_file", "cert_file", "key_file", "user",
        "password_file",
    ]
    static let secrets = [
        "password": "write the password into a file only controlnode can read (chmod 600) and set password_file",
        "key": "set key_file to the client key's file",
    ]

    init(reading reader: TableReader, defaultMemberName: String, secretFiles: inout [SecretFileReference]) throws(ConfigError) {
        let example = "[\"http://10.0.0.5:2379\"]"
        guard let texts = try reader.stringArray("etcd_endpoints", example: example) else {
            throw reader.missing("etcd_endpoints", example: example)
        }
        guard !texts.isEmpty else {
            throw reader.error(.invalidValue, "etcd_endpoints", "names no endpoint", remedy: "write etcd_endpoints = \(example)")
        }
        var endpoints: [Endpoint] = []
        for text in texts {
            switch Endpoint.parse(text) {
            case .success(let endpoint): endpoints.append(endpoint)
            case .failure(let problem):
                throw reader.error(
                    .invalidValue, "etcd_endpoints", "\(text.debugDescription) \(problem.reason)",
                    remedy: "write each as \"http://HOST:PORT\" or \"https://HOST:PORT\", as etcd's --advertise-client-urls")
            }
        }
        guard Set(endpoints.map(\.tls)).count == 1 else {
            throw reader.error(
                .invalidValue, "etcd_endpoints", "mixes http:// and https:// endpoints",
                remedy: "reach every endpoint the same way; the cluster's client URLs share one scheme")
        }
        self.endpoints = endpoints
        memberName = try reader.string("member_name", example: "\"ctl-a\"") ?? defaultMemberName
        guard TableReader.isPlainName(memberName), memberName.utf8.count <= 64 else {
            throw reader.error(
                .invalidValue, "member_name", "\(memberName.debugDescription) is not a valid member name",
                remedy: "use up to 64 letters, digits, '_' and '-', unique among the control machines")
        }
        if let ttl = try reader.duration("lease_ttl", example: "10s", maximum: .seconds(300)) {
            guard ttl >= .seconds(3) else {
                throw reader.error(
                    .invalidValue, "lease_ttl", "\(ConfigDuration.render(ttl)) is shorter than 3s",
                    remedy: "use at least 3s (renewals go out at a third of it), such as \"10s\"")
            }
            leaseTTL = ttl
        }
        mode = try reader.choice("mode", Mode.self) ?? mode
        if let prefix = try reader.string("key_prefix", example: "\"/controlnode/\"") {
            guard prefix.hasPrefix("/"), prefix.hasSuffix("/"), prefix.count >= 2,
                !prefix.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F })
            else {
                throw reader.error(
                    .invalidValue, "key_prefix", "\(prefix.debugDescription) must start and end with '/' and hold no space",
                    remedy: "write key_prefix = \"/controlnode/\", or one prefix per fleet such as \"/controlnode/eu/\"")
            }
            keyPrefix = prefix
        }
        caFile = try reader.path("ca_file", example: "\"/etc/controlnode/etcd-ca.pem\"")
        certFile = try reader.path("cert_file", example: "\"/etc/controlnode/etcd-client.pem\"")
        keyFile = try reader.path("key_file", example: "\"/etc/controlnode/etcd-client.key\"")
        if (certFile == nil) != (keyFile == nil) {
            let absent = certFile == nil ? "cert_file" : "key_file"
            throw reader.error(
                .missingKey, certFile == nil ? "key_file" : "cert_file",
                "a client certificate needs both cert_file and key_file",
                remedy: "add \(absent), or remove both")
        }
        if !endpoints[0].tls, caFile != nil || certFile != nil {
            throw reader.error(
                .invalidValue, caFile != nil ? "ca_file" : "cert_file", "TLS settings for http:// endpoints",
                remedy: "write the endpoints as https://, or remove ca_file, cert_file and key_file")
        }
        if let keyFile { secretFiles.append(SecretFileReference(reader: reader, key: "key_file", path: keyFile)) }
        user = try reader.string("user", example: "\"controlnode\"")
        passwordFile = try reader.path("password_file", example: "\"/etc/controlnode/etcd-password\"")
        if (user == nil) != (passwordFile == nil) {
            throw reader.error(
                .missingKey, user == nil ? "password_file" : "user", "etcd authentication needs both user and password_file",
                remedy: "add \(user == nil ? "user" : "password_file"), or remove both")
        }
        if let passwordFile {
            secretFiles.append(SecretFileReference(reader: reader, key: "password_file", path: passwordFile))
        }
    }
}
