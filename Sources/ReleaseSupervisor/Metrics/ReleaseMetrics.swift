import CoreMetrics

/// The series of one (release, host), through swift-metrics: the daemon bootstraps a Prometheus backend when it
/// serves `/metrics`; without one, every call below is a no-op.
///
/// Owned by the pair's actor, which updates it on each transition and each node report, and destroys every series
/// when it stops supervising the pair, so a pair removed from the configuration leaves nothing behind.
struct ReleaseMetrics {
    /// The restart causes, created at zero so that a first restart shows as an increase.
    static let restartCauses = ["node_down", "health_check"]
    private static let statuses = ["not_running", "starting", "running", "stopping", "failed", "unreachable"]

    private let labels: [(String, String)]
    private let up: Gauge
    private let status: [String: Gauge]
    private var restarts: [String: Counter] = [:]
    private var nodedowns: [String: Counter] = [:]
    private var info: (gauge: Gauge, values: [String])?
    private var node: NodeGauges?

    init(release: String, host: String) {
        let labels = [("release", release), ("host", host)]
        self.labels = labels
        up = Gauge(label: "controlnode_release_up", dimensions: labels)
        var status: [String: Gauge] = [:]
        for name in Self.statuses {
            status[name] = Gauge(label: "controlnode_release_status", dimensions: labels + [("status", name)])
        }
        self.status = status
        for cause in Self.restartCauses { restarts[cause] = counter("controlnode_release_restarts_total", cause) }
        record(status: "not_running")
    }

    private func counter(_ name: String, _ reason: String) -> Counter {
        Counter(label: name, dimensions: labels + [("reason", reason)])
    }

    /// The pair's status now: `_up` and the state set.
    func record(status current: String) {
        up.record(current == "running" ? 1 : 0)
        for (name, gauge) in status { gauge.record(name == current ? 1 : 0) }
    }

    /// A restart by the supervisor, for `cause` (`node_down`, `health_check`).
    mutating func recordRestart(_ cause: String) {
        if restarts[cause] == nil { restarts[cause] = counter("controlnode_release_restarts_total", cause) }
        restarts[cause]?.increment()
    }

    /// A node down, by `NodeDownReason.label`.
    mutating func recordNodeDown(_ reason: String) {
        if nodedowns[reason] == nil { nodedowns[reason] = counter("controlnode_nodedown_total", reason) }
        nodedowns[reason]?.increment()
    }

    /// `controlnode_release_info`: one series at 1 with the running version, node and desired version; a change of
    /// any of them replaces the series.
    mutating func recordInfo(version: String?, node: String?, desired: String?) {
        let values = [version ?? "", node ?? "", desired ?? ""]
        if let info, info.values == values { return }
        info?.gauge.destroy()
        let gauge = Gauge(
            label: "controlnode_release_info",
            dimensions: labels + [("version", values[0]), ("node", values[1]), ("desired_version", values[2])])
        gauge.record(1)
        info = (gauge, values)
    }

    /// The node's own figures; nil removes them (no node connected, so nothing to report).
    mutating func record(_ stats: NodeStats?) {
        guard let stats else {
            node?.destroy()
            node = nil
            return
        }
        if node == nil { node = NodeGauges(labels: labels) }
        node?.record(stats)
    }

    /// Removes every series of the pair.
    mutating func destroy() {
        up.destroy()
        for gauge in status.values { gauge.destroy() }
        for counter in restarts.values { counter.destroy() }
        for counter in nodedowns.values { counter.destroy() }
        info?.gauge.destroy()
        node?.destroy()
        restarts = [:]
        nodedowns = [:]
        info = nil
        node = nil
    }
}

/// `controlnode_node_*` of one pair.
private struct NodeGauges {
    private let labels: [(String, String)]
    private let gauges: [Gauge]
    private var memory: [String: Gauge] = [:]

    private static let names = [
        "controlnode_node_processes", "controlnode_node_processes_limit", "controlnode_node_atoms",
        "controlnode_node_atoms_limit", "controlnode_node_ports", "controlnode_node_ports_limit",
        "controlnode_node_run_queue", "controlnode_node_uptime_seconds",
    ]

    init(labels: [(String, String)]) {
        self.labels = labels
        gauges = Self.names.map { Gauge(label: $0, dimensions: labels) }
    }

    mutating func record(_ stats: NodeStats) {
        let values = [stats.processes, stats.processesLimit, stats.atoms, stats.atomsLimit, stats.ports, stats.portsLimit,
            stats.runQueue]
        for (gauge, value) in zip(gauges, values) { gauge.record(value) }
        gauges[7].record(stats.uptimeSeconds)
        for (kind, bytes) in stats.memory {
            if memory[kind] == nil {
                memory[kind] = Gauge(label: "controlnode_node_memory_bytes", dimensions: labels + [("kind", kind)])
            }
            memory[kind]?.record(bytes)
        }
    }

    func destroy() {
        for gauge in gauges { gauge.destroy() }
        for gauge in memory.values { gauge.destroy() }
    }
}
