import CoreMetrics
import Logging

extension ReleaseActor {
    /// Every failed health check, of any pair (`controlnode_health_check_failures_total`).
    static let healthCheckFailures = Counter(label: "controlnode_health_check_failures_total")

    /// How long a node may take to answer for its figures: a node this slow is reported by the health check and
    /// the tick timeout, not here.
    static let nodeStatsTimeout: Duration = .seconds(5)

    /// Asks the connected node for its figures every `interval`, one call each time, for the pair's `controlnode_node_*`
    /// series. The first question comes at a random point of the first interval, so that hundreds of actors started
    /// together do not all ask at once. A node that cannot answer keeps its last figures until its link closes.
    func nodeStatsLoop(every interval: Duration) async {
        var wait = interval * Double.random(in: 0..<1)
        while !Task.isCancelled {
            do { try await Task.sleep(for: wait) } catch { return }
            wait = interval
            guard let link else { continue }
            let answer: Term
            do {
                answer = try await link.connection.rpc("erl_eval", "exprs", NodeStats.query, timeout: Self.nodeStatsTimeout)
            } catch {
                logger.debug("the node did not give its figures: \(error)", metadata: ["event": "node_stats_failed"])
                continue
            }
            // The link may have closed while the call was out: its figures must not outlive it.
            guard self.link === link else { continue }
            guard let stats = NodeStats(evaluated: answer) else {
                logger.debug("the node's figures came in an unexpected form", metadata: ["event": "node_stats_failed"])
                continue
            }
            metrics.record(stats)
        }
    }
}
