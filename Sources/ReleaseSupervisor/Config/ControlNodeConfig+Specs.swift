extension ControlNodeConfig {
    /// One (release, host) pair the daemon supervises, as the release layer's specifications.
    public struct Supervised: Sendable {
        /// The release.
        public var release: ReleaseSpec
        /// The host.
        public var host: HostSpec
        /// The version that should run, if pinned.
        public var desiredVersion: ReleaseVersion?
        /// The pair, as the configuration diff names it.
        public var key: ReleaseHost { ReleaseHost(release: release.name, host: host.name) }
    }

    /// The host's specification with the daemon's known_hosts, host-key policy and keepalive; keys learned under
    /// `accept-new` go to `known_hosts` in the state directory (the unit keeps /etc read-only).
    public func hostSpec(_ host: HostConfig) -> HostSpec {
        var spec = HostSpec(
            name: host.name, address: host.address, sshPort: host.port, user: host.user,
            authentication: host.authentication, knownHostsPath: daemon.knownHosts,
            hostKeyPolicy: daemon.hostKeyPolicy, epmdPort: host.epmdPort)
        spec.keepaliveInterval = daemon.keepaliveInterval
        spec.learnedKnownHostsPath = daemon.learnedKnownHostsPath
        return spec
    }

    /// Every (release, host) pair, with each release's cookie read from its file.
    ///
    /// - Throws: `ConfigurationError` when a cookie file cannot be read.
    public func supervised() throws(ConfigurationError) -> [Supervised] {
        var pairs: [Supervised] = []
        for name in releases.keys.sorted() {
            let release = releases[name]!
            let cookie = try Cookie(contentsOfFile: release.cookieFile, for: "release \(name)")
            let spec = ReleaseSpec(
                name: name, basePath: release.basePath, cookie: cookie, startTimeout: release.startTimeout,
                restartPolicy: release.restart, healthCheck: release.healthCheck.map(Self.healthCheck),
                environment: release.environment, controlMode: release.mode)
            for hostName in release.hosts {
                guard let host = hosts[hostName] else { continue }  // validation already refused unknown hosts
                pairs.append(
                    Supervised(
                        release: spec, host: hostSpec(host), desiredVersion: release.version.flatMap { ReleaseVersion($0) }))
            }
        }
        return pairs
    }

    private static func healthCheck(_ config: HealthCheckConfig) -> HealthCheck {
        HealthCheck(
            module: Atom(config.module), function: Atom(config.function),
            arguments: config.arguments.map { argument in
                switch argument {
                case .string(let text): .binary(text)
                case .integer(let number): .integer(number)
                case .boolean(let flag): .atom(flag ? "true" : "false")
                }
            },
            interval: config.interval, timeout: config.timeout, failuresBeforeAction: config.failures,
            onFailure: config.onFailure)
    }
}
