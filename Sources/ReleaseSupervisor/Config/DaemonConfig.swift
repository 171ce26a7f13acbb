public import Logging

/// The `[daemon]` table: settings of the controlnode process itself.
public struct DaemonConfig: Sendable, Equatable {
    /// The hidden node's name without the host part (`controlnode` → `controlnode@thishost`).
    public var nodeName = "controlnode"
    /// The Unix socket the CLI talks to.
    public var controlSocket = "/run/controlnode/control.sock"
    /// Where release tarballs and their checksums are kept.
    public var registry = "/var/lib/controlnode/registry"
    /// Where the state store (`state.db`: desired versions, history, rollouts) is kept: the unit's `StateDirectory=`.
    public var stateDirectory = "/var/lib/controlnode"
    /// The known_hosts file of pinned host keys; the daemon only reads it.
    public var knownHosts = "/etc/controlnode/known_hosts"
    /// What to do with unknown or changed host keys.
    public var hostKeyPolicy: HostKeyPolicy = .strict
    /// How often the SSH connection is probed; it is declared dead after 3 unanswered probes.
    public var keepaliveInterval: Duration = .seconds(5)
    /// How long the distribution connection may stay silent before the node counts as down.
    public var tickTimeout: Duration = .seconds(15)
    /// The lowest level logged.
    public var logLevel: Logger.Level = .info
    /// Where `GET /metrics` is served (Prometheus's text format); nil, the default, serves nothing.
    public var metricsListen: MetricsListen?
    /// How often each running node is asked for its process, atom, port, memory and run-queue figures, when
    /// metrics are served (never on a scrape).
    public var nodeMetricsInterval: Duration = .seconds(15)
    /// Where `accept-new` records the keys it learns: `known_hosts` in the state directory, read as well; a
    /// key there never overrides one `knownHosts` pins for the same host.
    public var learnedKnownHostsPath: String {
        (stateDirectory.hasSuffix("/") ? stateDirectory : stateDirectory + "/") + "known_hosts"
    }

    /// The defaults, as used when `[daemon]` or any of its keys is absent.
    public init() {}

    static let keys = [
        "node_name", "control_socket", "registry", "state_dir", "known_hosts", "host_key_policy", "keepalive_interval",
        "tick_timeout", "log_level", "strict_permissions", "metrics_listen", "node_metrics_interval",
    ]

    init(reading reader: TableReader) throws(ConfigError) {
        if let name = try reader.string("node_name", example: "\"controlnode\"") {
            guard !name.contains("@") else {
                throw reader.error(
                    .invalidValue, "node_name", "\"\(name)\" contains '@'",
                    remedy: "write only the name; controlnode adds the host part")
            }
            guard TableReader.isPlainName(name) else {
                throw reader.error(
                    .invalidValue, "node_name", "\"\(name)\" is not a valid node name",
                    remedy: "use letters, digits, '_' and '-'")
            }
            nodeName = name
        }
        controlSocket = try reader.path("control_socket", example: "\"/run/controlnode/control.sock\"") ?? controlSocket
        registry = try reader.path("registry", example: "\"/var/lib/controlnode/registry\"") ?? registry
        stateDirectory = try reader.path("state_dir", example: "\"/var/lib/controlnode\"") ?? stateDirectory
        knownHosts = try reader.path("known_hosts", example: "\"/etc/controlnode/known_hosts\"") ?? knownHosts
        hostKeyPolicy = try reader.choice("host_key_policy", HostKeyPolicy.self) ?? hostKeyPolicy
        keepaliveInterval = try reader.duration("keepalive_interval", example: "5s", maximum: .seconds(600)) ?? keepaliveInterval
        tickTimeout = try reader.duration("tick_timeout", example: "15s", maximum: .seconds(600)) ?? tickTimeout
        logLevel = try reader.choice("log_level", Logger.Level.self) ?? logLevel
        if let listen = try reader.string("metrics_listen", example: "\"127.0.0.1:9568\"") {
            switch MetricsListen.parse(listen) {
            case .success(let value): metricsListen = value
            case .failure(let problem):
                throw reader.error(
                    .invalidValue, "metrics_listen", "\"\(listen)\": \(problem)",
                    remedy: "write an address and port, such as \"127.0.0.1:9568\", or a socket path, such as \"/run/controlnode/metrics.sock\"")
            }
        }
        if let interval = try reader.duration("node_metrics_interval", example: "15s", maximum: .seconds(3600)) {
            guard interval >= .seconds(1) else {
                throw reader.error(
                    .invalidValue, "node_metrics_interval", "\(ConfigDuration.render(interval)) is shorter than 1s",
                    remedy: "ask each node at most once a second, such as \"15s\"")
            }
            nodeMetricsInterval = interval
        }
        // Read for its type only: secret files others can read are always refused now (a warning says so).
        _ = try reader.boolean("strict_permissions")
    }
}
