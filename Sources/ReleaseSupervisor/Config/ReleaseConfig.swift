/// A `[releases.NAME]` table: an Erlang/Elixir release and the hosts it runs on.
public struct ReleaseConfig: Sendable, Equatable {
    /// The release's name, as in `bin/NAME` and the node name `NAME@host`.
    public var name: String
    /// The directory the release is installed in on each host.
    public var basePath: String
    /// The file holding the distribution cookie (never the cookie itself).
    public var cookieFile: String
    /// The hosts it runs on, by `[hosts.NAME]` name, in the order written.
    public var hosts: [String]
    /// The version that should be running, if pinned.
    public var version: String?
    /// What controlnode does with it.
    public var mode: ControlMode = .manage
    /// How long a start may take until the node is up in EPMD and answers.
    public var startTimeout: Duration = .seconds(30)
    /// Environment variables the release is started with.
    public var environment: [String: String] = [:]
    /// Restart limits.
    public var restart = RestartPolicy()
    /// The health check RPC, if any.
    public var healthCheck: HealthCheckConfig?
    /// How rollouts change its hosts (`[releases.NAME.update]`).
    public var update = UpdatePolicy()

    /// A release with default mode, timeouts and restart policy.
    public init(name: String, basePath: String, cookieFile: String, hosts: [String]) {
        self.name = name
        self.basePath = basePath
        self.cookieFile = cookieFile
        self.hosts = hosts
    }

    static let keys = [
        "base_path", "cookie_file", "hosts", "version", "mode", "start_timeout", "env", "restart", "health_check", "update",
    ]
    static let secrets = [
        "cookie": "put the cookie in a file readable only by controlnode (chmod 600) and set cookie_file to its path"
    ]

    init(
        name: String, reading reader: TableReader, knownHosts: [String], secretFiles: inout [SecretFileReference]
    ) throws(ConfigError) {
        guard ReleaseTarballName.isValidName(name) else {
            throw ConfigError(
                .invalidValue, file: reader.file, line: reader.table.line, key: reader.path,
                problem: "\"\(name)\" is not a valid release name",
                remedy: "a release name is [a-z][a-z0-9_]*, as mix.exs names it")
        }
        self.name = name
        basePath = try reader.requiredPath("base_path", example: "\"/opt/\(name)\"")
        cookieFile = try reader.requiredPath("cookie_file", example: "\"/etc/controlnode/\(name).cookie\"")
        secretFiles.append(SecretFileReference(reader: reader, key: "cookie_file", path: cookieFile))
        hosts = try Self.readHosts(reader, knownHosts: knownHosts)
        if let version = try reader.string("version", example: "\"0.1.0\"") {
            guard !version.isEmpty, !version.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                throw reader.error(
                    .invalidValue, "version", "\"\(version)\" is not a release version",
                    remedy: "write version = \"0.1.0\", or remove the key to accept any version")
            }
            self.version = version
        }
        mode = try reader.choice("mode", ControlMode.self) ?? mode
        startTimeout = try reader.duration("start_timeout", example: "30s", maximum: .seconds(3600)) ?? startTimeout
        environment = try Self.readEnvironment(reader)
        if let restartReader = try reader.table(
            "restart", allowed: ["max_restarts", "within"], example: "{ max_restarts = 5, within = \"5m\" }")
        {
            restart.maxRestarts = try restartReader.integer("max_restarts", in: 0...1000, example: "5") ?? 5
            restart.window = try restartReader.duration("within", example: "5m") ?? restart.window
        }
        if let check = try reader.table(
            "health_check", allowed: HealthCheckConfig.keys,
            example: "{ module = \"Elixir.App.Health\", function = \"check\" }")
        {
            healthCheck = try HealthCheckConfig(reading: check)
        }
        if let update = try reader.table(
            "update", allowed: Self.updateKeys, example: "{ max_parallel = 1, min_healthy_time = \"10s\" }")
        {
            self.update = try Self.readUpdate(update)
        }
    }

    static let updateKeys = [
        "max_parallel", "canary", "auto_promote", "min_healthy_time", "healthy_deadline", "auto_revert", "stage",
        "keep_versions",
    ]

    private static func readUpdate(_ reader: TableReader) throws(ConfigError) -> UpdatePolicy {
        var policy = UpdatePolicy()
        policy.maxParallel = try reader.integer("max_parallel", in: 1...1000, example: "1") ?? policy.maxParallel
        policy.canary = try reader.integer("canary", in: 0...1000, example: "1") ?? policy.canary
        policy.autoPromote = try reader.boolean("auto_promote") ?? policy.autoPromote
        policy.minHealthyTime =
            try reader.duration("min_healthy_time", example: "10s", allowingZero: true, maximum: .seconds(3600)) ?? policy.minHealthyTime
        policy.healthyDeadline = try reader.duration("healthy_deadline", example: "5m") ?? policy.healthyDeadline
        policy.autoRevert = try reader.boolean("auto_revert") ?? policy.autoRevert
        policy.stage = try reader.boolean("stage") ?? policy.stage
        policy.keepVersions = try reader.integer("keep_versions", in: 2...1000, example: "3") ?? policy.keepVersions
        guard policy.healthyDeadline > policy.minHealthyTime else {
            throw reader.error(
                .invalidValue, "healthy_deadline", "must be longer than min_healthy_time",
                remedy: "a host needs the deadline to stay healthy for min_healthy_time; raise healthy_deadline")
        }
        return policy
    }

    private static func readHosts(_ reader: TableReader, knownHosts: [String]) throws(ConfigError) -> [String] {
        let example = "[\"web1\"]"
        guard let hosts = try reader.stringArray("hosts", example: example) else {
            throw reader.missing("hosts", example: example)
        }
        guard !hosts.isEmpty else {
            throw reader.error(.invalidValue, "hosts", "the list is empty", remedy: "name at least one [hosts.NAME] table")
        }
        var seen: Set<String> = []
        for host in hosts {
            guard knownHosts.contains(host) else {
                let known = knownHosts.isEmpty ? "none are defined" : "defined hosts: \(knownHosts.joined(separator: ", "))"
                throw reader.error(
                    .unknownHost, "hosts", "unknown host \"\(host)\"", remedy: "add a [hosts.\(host)] table (\(known))")
            }
            guard seen.insert(host).inserted else {
                throw reader.error(.invalidValue, "hosts", "\"\(host)\" is listed twice")
            }
        }
        return hosts
    }

    private static func readEnvironment(_ reader: TableReader) throws(ConfigError) -> [String: String] {
        guard let value = reader.table["env"]?.value else { return [:] }
        guard case .table(let table) = value.kind else {
            throw reader.error(
                .wrongType, "env", "expected a table, found \(value.typeName)", remedy: "write env = { PORT = \"4000\" }")
        }
        var environment: [String: String] = [:]
        for entry in table.entries {
            let key = "env.\(entry.key)"
            guard EnvironmentName.isValid(entry.key) else {
                throw ConfigError(
                    .invalidValue, file: reader.file, line: entry.line, key: reader.keyPath(key),
                    problem: "\"\(entry.key)\" is not a valid environment variable name",
                    remedy: "use ASCII letters, digits and '_', not starting with a digit")
            }
            if let reason = EnvironmentName.ownedByDaemon(entry.key) {
                throw ConfigError(
                    .invalidValue, file: reader.file, line: entry.line, key: reader.keyPath(key),
                    problem: "\(entry.key) is not the release's to set: \(reason)", remedy: "remove it from env")
            }
            guard case .string(let text) = entry.value.kind else {
                throw ConfigError(
                    .wrongType, file: reader.file, line: entry.line, key: reader.keyPath(key),
                    problem: "expected a string, found \(entry.value.typeName)",
                    remedy: "environment values are strings: write \(entry.key) = \"...\"")
            }
            guard !text.utf8.contains(0) else {
                throw ConfigError(
                    .invalidValue, file: reader.file, line: entry.line, key: reader.keyPath(key),
                    problem: "the value holds a NUL byte, which no environment can carry", remedy: "remove it")
            }
            environment[entry.key] = text
        }
        return environment
    }
}
