import CoreMetrics

/// `controlnode_deploys_total{release, result}`, `controlnode_deploy_duration_seconds` and
/// `controlnode_rollout_in_progress`, kept by the rollout engine.
enum RolloutMetrics {
    private static let duration = Timer(label: "controlnode_deploy_duration_seconds")
    private static let running = Gauge(label: "controlnode_rollout_in_progress")

    /// How many rollouts run now.
    static func inProgress(_ count: Int) { running.record(count) }

    /// A rollout (deploy, rollback or configuration change) of `release` ended with `result`.
    static func finished(release: String, result: OperationResult, since start: ContinuousClock.Instant, inProgress: Int) {
        Counter(label: "controlnode_deploys_total", dimensions: [("release", release), ("result", result.rawValue)])
            .increment()
        duration.recordInterval(since: start)
        running.record(inProgress)
    }
}
