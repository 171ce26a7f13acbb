import CoreMetrics
import Logging

extension ReleaseActor {
    /// Every failed health check, of any pair (`controlnode_health_check_failures_total`).
    static let healthCheckFailures = Counter(label: "controlnode_health_check_failures_total")

    /// How long a node may take to answer for its figures: a node this slow is reported by the health check and
    /// the tick timeout, not here.
    static let nodeStatsTimeout: Duration = .seconds(5)

    /// Asks the connected node for its figures every `interval`, one call each time, for the pair's `controlnode_node_*`
    /// series; its limits and start time are asked once per connection. Every actor asks on the same grid (multiples of
    /// the interval on the monotonic clock, which the connections' liveness probes share at the default tick
    /// timeout): the questions to a host's nodes leave in one pass of its SSH connection and their answers come
    /// back together, so hundreds of pairs cost a few wakes per interval rather than one each (the measured cost of
    /// a question asked alone was about half a millisecond of CPU, most of it thread switches and the SSH layer's
    /// per-packet work). A node that cannot answer keeps its last figures until its link closes.
    func nodeStatsLoop(every interval: Duration) async {
        let step = max(interval.nanoseconds, 1_000_000)
        var fixed: (link: ReleaseLink, figures: NodeStats.Fixed)?
        while !Task.isCancelled {
            let now = MonotonicClock.nanoseconds()
            do { try await Task.sleep(for: .nanoseconds((now / step + 1) * step - now)) } catch { return }
            guard let link else { continue }
            if fixed?.link !== link {
                fixed = nil
                guard let answer = await ask(link, NodeStats.fixedQuery) else { continue }
                guard let figures = NodeStats.Fixed(evaluated: answer) else {
                    logger.debug("the node's limits came in an unexpected form", metadata: ["event": "node_stats_failed"])
                    continue
                }
                fixed = (link, figures)
            }
            guard let figures = fixed?.figures, let answer = await ask(link, NodeStats.query) else { continue }
            // The link may have closed while the call was out: its figures must not outlive it.
            guard self.link === link else { continue }
            guard let stats = NodeStats(evaluated: answer, fixed: figures) else {
                logger.debug("the node's figures came in an unexpected form", metadata: ["event": "node_stats_failed"])
                continue
            }
            metrics.record(stats)
        }
    }

    private func ask(_ link: ReleaseLink, _ query: [Term]) async -> Term? {
        do {
            return try await link.connection.rpc("erl_eval", "exprs", query, timeout: Self.nodeStatsTimeout)
        } catch {
            logger.debug("the node did not give its figures: \(error)", metadata: ["event": "node_stats_failed"])
            return nil
        }
    }
}
