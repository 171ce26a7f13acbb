import CoreMetrics
import Prometheus

/// The process's metrics, once `daemon.metrics_listen` asks for them: swift-metrics is bootstrapped with a Prometheus
/// backend (what the library records goes there), and `controlnode_build_info` is set. Without the setting nothing
/// is bootstrapped, and every metric the library records is a no-op.
enum MetricsEndpoint {
    /// Histogram buckets, in seconds: an RPC over SSH answers in milliseconds, a rollout takes seconds to minutes.
    static let rpcBuckets: [Duration] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        .map { .milliseconds(Int($0 * 1000)) }
    static let deployBuckets: [Duration] = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800].map { .seconds($0) }

    /// Makes the registry `/metrics` shows and routes swift-metrics to it; call once, before any actor starts.
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "controlnode_rpc_duration_seconds": rpcBuckets,
            "controlnode_deploy_duration_seconds": deployBuckets,
        ]
        MetricsSystem.bootstrap(factory)
        let buildInfo = MetricNameDescriptor(
            namespace: "controlnode", metricName: "build", unitName: "info",
            helpText: "The controlnode build, as a series at 1 labelled with its version.")
        registry.makeGauge(descriptor: buildInfo, labels: [("version", ControlNode.version)]).set(1.0)
        return registry
    }
}
