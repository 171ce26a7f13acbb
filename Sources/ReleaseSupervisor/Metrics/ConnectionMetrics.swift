import CoreMetrics

/// `controlnode_ssh_connections{host, state}` (a state set: 1 for the connection's state now) and
/// `controlnode_ssh_reconnects_total`, kept by the connection pool.
struct ConnectionMetrics {
    /// What a host's connection is doing.
    enum State: String, CaseIterable {
        case connecting, connected, disconnected
    }

    private static let reconnects = Counter(label: "controlnode_ssh_reconnects_total")
    private var gauges: [String: [State: Gauge]] = [:]

    /// The host's connection is now `state`.
    mutating func record(_ state: State, host: String) {
        if gauges[host] == nil {
            gauges[host] = Dictionary(uniqueKeysWithValues: State.allCases.map { each in
                (each, Gauge(label: "controlnode_ssh_connections", dimensions: [("host", host), ("state", each.rawValue)]))
            })
        }
        for (each, gauge) in gauges[host] ?? [:] { gauge.record(each == state ? 1 : 0) }
    }

    /// A connection replaces one that was lost.
    func recordReconnect() { Self.reconnects.increment() }

    /// The host is gone from the pool: its series go too.
    mutating func forget(host: String) {
        for gauge in gauges.removeValue(forKey: host)?.values ?? [:].values { gauge.destroy() }
    }
}
