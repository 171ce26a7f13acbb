/// The whole configuration file (`/etc/controlnode/controlnode.toml`) as plain values: the daemon's
/// settings, the hosts and the releases, each by name.
public struct ControlNodeConfig: Sendable, Equatable {
    /// Where the daemon looks unless told otherwise.
    public static let defaultPath = "/etc/controlnode/controlnode.toml"

    /// The `[daemon]` table.
    public var daemon = DaemonConfig()
    /// The `[hosts.NAME]` tables by name.
    public var hosts: [String: HostConfig] = [:]
    /// The `[releases.NAME]` tables by name.
    public var releases: [String: ReleaseConfig] = [:]
    /// The `[cluster]` table; nil, the default, for a daemon that works alone.
    public var cluster: ClusterConfig?

    /// An empty configuration with default daemon settings.
    public init() {}

    /// Reads, parses and validates the file, including the cookie and key files it names.
    ///
    /// - Returns: the configuration and warnings worth logging (secret files others can read).
    /// - Throws: `ConfigError` naming the file, line and key of the first problem.
    public static func load(path: String = defaultPath) throws(ConfigError) -> LoadedConfig {
        let text: String
        do {
            text = String(decoding: try LocalFile.read(path, limit: 4 << 20), as: UTF8.self)
        } catch {
            throw ConfigError(
                .unreadable, file: path, line: nil, key: nil, problem: "cannot read the configuration (\(error))",
                remedy: "check the path and that controlnode may read it")
        }
        let (config, secretFiles, notes) = try decode(text, file: path)
        let warnings = try SecretFileReference.check(secretFiles) + notes
        return LoadedConfig(config: config, warnings: warnings)
    }

    /// Parses and validates `text` without touching the files it names; `file` is used in errors.
    ///
    /// - Throws: `ConfigError` naming the file, line and key of the first problem.
    public static func parse(_ text: String, file: String = defaultPath) throws(ConfigError) -> ControlNodeConfig {
        try decode(text, file: file).config
    }

    static func decode(_ text: String, file: String) throws(ConfigError) -> (
        config: ControlNodeConfig, secretFiles: [SecretFileReference], warnings: [ConfigWarning]
    ) {
        let root: TOMLTable
        do {
            root = try TOMLParser.parse(text)
        } catch {
            throw ConfigError(.syntax, file: file, line: error.line, key: nil, problem: error.message)
        }
        let top = try TableReader(root, path: "", file: file, allowed: ["daemon", "hosts", "releases", "cluster"])
        var config = ControlNodeConfig()
        var secretFiles: [SecretFileReference] = []
        var warnings: [ConfigWarning] = []
        if let daemon = try top.table("daemon", allowed: DaemonConfig.keys, example: "[daemon]") {
            config.daemon = try DaemonConfig(reading: daemon)
            if daemon.table["strict_permissions"] != nil {
                warnings.append(
                    ConfigWarning(
                        file: file, line: daemon.line(of: "strict_permissions"), key: "daemon.strict_permissions",
                        message: "no longer has an effect: cookie and key files that group or others can read are "
                            + "always refused; remove the key"))
            }
        }
        if let cluster = try top.table(
            "cluster", allowed: ClusterConfig.keys, example: "[cluster]", secrets: ClusterConfig.secrets)
        {
            config.cluster = try ClusterConfig(
                reading: cluster, defaultMemberName: ClusterConfig.defaultMemberName(), secretFiles: &secretFiles)
        }
        var hostNames: [String] = []
        if let hosts = try top.table("hosts", allowed: [], example: "[hosts.web1]", allowingAny: true) {
            for (name, table) in try hosts.namedTables() {
                let reader = try TableReader(
                    table, path: "hosts.\(name)", file: file, allowed: HostConfig.keys, secrets: HostConfig.secrets)
                let host = try HostConfig(name: name, reading: reader, secretFiles: &secretFiles)
                config.hosts[name] = host
                if host.user == "root" {
                    warnings.append(
                        ConfigWarning(
                            file: file, line: reader.line(of: "user"), key: "hosts.\(name).user",
                            message: "releases on this host run as root, so a fault in one is a fault of the whole "
                                + "host; create a dedicated user (useradd --system) and write its name here"))
                }
                hostNames.append(name)
            }
        }
        if let releases = try top.table("releases", allowed: [], example: "[releases.NAME]", allowingAny: true) {
            for (name, table) in try releases.namedTables() {
                let reader = try TableReader(
                    table, path: "releases.\(name)", file: file, allowed: ReleaseConfig.keys,
                    secrets: ReleaseConfig.secrets)
                config.releases[name] = try ReleaseConfig(
                    name: name, reading: reader, knownHosts: hostNames, secretFiles: &secretFiles)
            }
        }
        return (config, secretFiles, warnings)
    }
}

/// A configuration as loaded from disk, with what deserves a warning in the log.
public struct LoadedConfig: Sendable, Equatable {
    /// The validated configuration.
    public var config: ControlNodeConfig
    /// Problems that do not stop the daemon (an SSH user that is root, a key that no longer has an effect).
    public var warnings: [ConfigWarning]
}
