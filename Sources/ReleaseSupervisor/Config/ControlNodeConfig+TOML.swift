import Logging

extension ControlNodeConfig {
    /// The configuration as a TOML file that `parse` reads back to an equal value, every setting spelled out
    /// (defaults included), hosts and releases sorted by name: what `controlnode config show` can print.
    public var tomlText: String {
        var lines: [String] = ["[daemon]"]
        lines.append("node_name = \(Self.quote(daemon.nodeName))")
        lines.append("control_socket = \(Self.quote(daemon.controlSocket))")
        lines.append("registry = \(Self.quote(daemon.registry))")
        lines.append("state_dir = \(Self.quote(daemon.stateDirectory))")
        lines.append("known_hosts = \(Self.quote(daemon.knownHosts))")
        lines.append("host_key_policy = \(Self.quote(daemon.hostKeyPolicy.rawValue))")
        lines.append("keepalive_interval = \(Self.duration(daemon.keepaliveInterval))")
        lines.append("tick_timeout = \(Self.duration(daemon.tickTimeout))")
        lines.append("log_level = \(Self.quote(daemon.logLevel.rawValue))")
        if let listen = daemon.metricsListen { lines.append("metrics_listen = \(Self.quote("\(listen)"))") }
        lines.append("node_metrics_interval = \(Self.duration(daemon.nodeMetricsInterval))")
        if let cluster { lines += [""] + Self.lines(for: cluster) }
        for host in hosts.values.sorted(by: { $0.name < $1.name }) {
            lines += ["", "[hosts.\(Self.key(host.name))]"]
            lines.append("address = \(Self.quote(host.address))")
            lines.append("port = \(host.port)")
            lines.append("user = \(Self.quote(host.user))")
            switch host.authentication {
            case .keyFile(let path, let passphraseFile):
                lines.append("identity_file = \(Self.quote(path))")
                if let passphraseFile { lines.append("passphrase_file = \(Self.quote(passphraseFile))") }
            case .agent:
                lines.append("agent = true")
            }
            lines.append("epmd_port = \(host.epmdPort)")
        }
        for release in releases.values.sorted(by: { $0.name < $1.name }) {
            lines += ["", "[releases.\(Self.key(release.name))]"]
            lines += Self.lines(for: release)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func lines(for release: ReleaseConfig) -> [String] {
        var lines = [
            "base_path = \(quote(release.basePath))",
            "cookie_file = \(quote(release.cookieFile))",
            "hosts = [\(release.hosts.map(quote).joined(separator: ", "))]",
        ]
        if let version = release.version { lines.append("version = \(quote(version))") }
        lines.append("mode = \(quote(release.mode.rawValue))")
        lines.append("start_timeout = \(duration(release.startTimeout))")
        let environment = release.environment.sorted { $0.key < $1.key }.map { "\(key($0.key)) = \(quote($0.value))" }
        lines.append("env = { \(environment.joined(separator: ", ")) }")
        lines.append(
            "restart = { max_restarts = \(release.restart.maxRestarts), within = \(duration(release.restart.window)) }")
        if let check = release.healthCheck {
            let arguments = check.arguments.map { argument in
                switch argument {
                case .string(let text): quote(text)
                case .integer(let number): String(number)
                case .boolean(let flag): String(flag)
                }
            }
            let fields = [
                "module = \(quote(check.module))", "function = \(quote(check.function))",
                "args = [\(arguments.joined(separator: ", "))]", "interval = \(duration(check.interval))",
                "timeout = \(duration(check.timeout))", "failures = \(check.failures)",
                "on_failure = \(quote(check.onFailure.rawValue))",
            ]
            lines.append("health_check = { \(fields.joined(separator: ", ")) }")
        }
        let update = release.update
        let fields = [
            "max_parallel = \(update.maxParallel)", "canary = \(update.canary)", "auto_promote = \(update.autoPromote)",
            "min_healthy_time = \(duration(update.minHealthyTime))", "healthy_deadline = \(duration(update.healthyDeadline))",
            "auto_revert = \(update.autoRevert)", "stage = \(update.stage)", "keep_versions = \(update.keepVersions)",
        ]
        lines.append("update = { \(fields.joined(separator: ", ")) }")
        return lines
    }

    private static func lines(for cluster: ClusterConfig) -> [String] {
        var lines = [
            "[cluster]",
            "etcd_endpoints = [\(cluster.endpoints.map { quote("\($0)") }.joined(separator: ", "))]",
            "member_name = \(quote(cluster.memberName))",
            "lease_ttl = \(duration(cluster.leaseTTL))",
            "mode = \(quote(cluster.mode.rawValue))",
            "key_prefix = \(quote(cluster.keyPrefix))",
        ]
        let files = [
            ("ca_file", cluster.caFile), ("cert_file", cluster.certFile), ("key_file", cluster.keyFile),
            ("user", cluster.user), ("password_file", cluster.passwordFile),
        ]
        for case (let key, let value?) in files { lines.append("\(key) = \(quote(value))") }
        return lines
    }

    private static func duration(_ duration: Duration) -> String { quote(ConfigDuration.render(duration)) }

    /// A bare key when TOML allows one, else a quoted key.
    private static func key(_ name: String) -> String {
        TableReader.isPlainName(name) ? name : quote(name)
    }

    /// A TOML basic string with the escapes the parser reads back.
    static func quote(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\r": quoted += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }
}
