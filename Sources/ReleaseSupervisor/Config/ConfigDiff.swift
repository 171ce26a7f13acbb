/// One supervised unit: a release on one host (the daemon runs one actor per pair).
public struct ReleaseHost: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The release's name.
    public var release: String
    /// The host's name.
    public var host: String

    /// The pair of `release` on `host`.
    public init(release: String, host: String) {
        self.release = release
        self.host = host
    }

    /// Ordered by release, then host.
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.release, lhs.host) < (rhs.release, rhs.host) }

    /// `release@host`.
    public var description: String { "\(release)@\(host)" }
}

/// What a configuration reload changes, pair by pair: which (release, host) actors to start, stop,
/// restart with new settings, or leave alone.
public struct ConfigDiff: Sendable, Equatable {
    /// Pairs only in the new configuration: start them.
    public var added: [ReleaseHost] = []
    /// Pairs only in the old configuration: stop supervising them.
    public var removed: [ReleaseHost] = []
    /// Pairs in both whose release or host settings differ, or whose connections depend on a changed
    /// `[daemon]` setting: apply the new settings.
    public var changed: [ReleaseHost] = []
    /// Pairs in both with the same settings.
    public var unchanged: [ReleaseHost] = []
    /// The `[daemon]` keys whose values differ, such as `log_level`.
    public var daemonKeys: [String] = []
    /// Releases in both whose `version` differs: each becomes a rollout, and no pair restarts for it.
    public var versionChanged: [String] = []

    /// Whether the reload changes nothing at all.
    public var isEmpty: Bool {
        added.isEmpty && removed.isEmpty && changed.isEmpty && daemonKeys.isEmpty && versionChanged.isEmpty
    }

    /// Compares `old` with `new`; every list is sorted.
    public init(from old: ControlNodeConfig, to new: ControlNodeConfig) {
        daemonKeys = Self.changedDaemonKeys(old.daemon, new.daemon)
        // These reach every connection: a pair must reconnect to pick them up.
        let connectionKeys: Set = ["node_name", "known_hosts", "host_key_policy", "keepalive_interval", "tick_timeout"]
        let connectionsChanged = daemonKeys.contains { connectionKeys.contains($0) }
        let oldPairs = Self.pairs(old)
        let newPairs = Self.pairs(new)
        added = newPairs.subtracting(oldPairs).sorted()
        removed = oldPairs.subtracting(newPairs).sorted()
        for pair in oldPairs.intersection(newPairs).sorted() {
            let same =
                !connectionsChanged && old.hosts[pair.host] == new.hosts[pair.host]
                && Self.settings(old.releases[pair.release]) == Self.settings(new.releases[pair.release])
            if same { unchanged.append(pair) } else { changed.append(pair) }
        }
        versionChanged = old.releases.keys.filter { name in
            new.releases[name].map { $0.version != old.releases[name]?.version } ?? false
        }.sorted()
    }

    private static func pairs(_ config: ControlNodeConfig) -> Set<ReleaseHost> {
        Set(config.releases.values.flatMap { release in release.hosts.map { ReleaseHost(release: release.name, host: $0) } })
    }

    /// A release's settings apart from its host list (adding a host to a release changes no other pair), its
    /// version (a rollout changes that) and its rollout settings (read when a rollout starts).
    private static func settings(_ release: ReleaseConfig?) -> ReleaseConfig? {
        guard var release else { return nil }
        release.hosts = []
        release.version = nil
        release.update = UpdatePolicy()
        return release
    }

    private static func changedDaemonKeys(_ old: DaemonConfig, _ new: DaemonConfig) -> [String] {
        var keys: [String] = []
        if old.nodeName != new.nodeName { keys.append("node_name") }
        if old.controlSocket != new.controlSocket { keys.append("control_socket") }
        if old.registry != new.registry { keys.append("registry") }
        if old.stateDirectory != new.stateDirectory { keys.append("state_dir") }
        if old.knownHosts != new.knownHosts { keys.append("known_hosts") }
        if old.hostKeyPolicy != new.hostKeyPolicy { keys.append("host_key_policy") }
        if old.keepaliveInterval != new.keepaliveInterval { keys.append("keepalive_interval") }
        if old.tickTimeout != new.tickTimeout { keys.append("tick_timeout") }
        if old.logLevel != new.logLevel { keys.append("log_level") }
        return keys
    }
}
