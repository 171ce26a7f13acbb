/// How a release's hosts are changed in a rollout: the `[releases.NAME.update]` table.
public struct UpdatePolicy: Sendable, Equatable {
    /// Hosts taken down at once. A host that runs nothing of the release is not taken down, and does not count.
    public var maxParallel = 1
    /// Hosts changed first; the rest wait for promotion.
    public var canary = 0
    /// With canaries: promote once every canary is healthy, without waiting for an operator.
    public var autoPromote = false
    /// How long a host must stay healthy without a break to count as updated.
    public var minHealthyTime: Duration = .seconds(10)
    /// How long one host may take, from its start, to become healthy.
    public var healthyDeadline: Duration = .seconds(300)
    /// On failure, put the hosts already changed back on their previous version.
    public var autoRevert = true
    /// Upload and extract on every target host before stopping any.
    public var stage = true
    /// Extracted versions kept per host; older ones are removed after a successful rollout.
    public var keepVersions = 3

    /// The defaults.
    public init() {}

    /// The settings as one line of `key=value` words, as the store keeps them for a resumed rollout.
    public var storedText: String {
        [
            "max_parallel=\(maxParallel)", "canary=\(canary)", "auto_promote=\(autoPromote)",
            "min_healthy_time=\(ConfigDuration.render(minHealthyTime))",
            "healthy_deadline=\(ConfigDuration.render(healthyDeadline))", "auto_revert=\(autoRevert)",
            "stage=\(stage)", "keep_versions=\(keepVersions)",
        ].joined(separator: " ")
    }

    /// Reads `storedText` back; unknown or unreadable words keep their defaults.
    public init(storedText: String) {
        for word in storedText.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let (key, value) = (parts[0], parts[1])
            switch key {
            case "max_parallel": maxParallel = Int(value) ?? maxParallel
            case "canary": canary = Int(value) ?? canary
            case "auto_promote": autoPromote = value == "true"
            case "min_healthy_time": minHealthyTime = ConfigDuration.parse(value) ?? minHealthyTime
            case "healthy_deadline": healthyDeadline = ConfigDuration.parse(value) ?? healthyDeadline
            case "auto_revert": autoRevert = value == "true"
            case "stage": stage = value == "true"
            case "keep_versions": keepVersions = Int(value) ?? keepVersions
            default: continue
            }
        }
    }
}
