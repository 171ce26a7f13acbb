import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// `GET /metrics` in Prometheus's text format, served by SwiftNIO's HTTP/1.1 server on one event-loop thread of its
/// own, so a scrape never runs on the threads that supervise releases. It reads only what the registry holds: a
/// scrape asks no node and no host anything.
///
/// Guarded as the control socket is: at most `MetricsLimits.connections` callers at once (more are closed at
/// accept), each request head bounded by NIO's parser and complete within `MetricsLimits.requestDeadline` of the
/// connection opening or of the previous answer, request bodies discarded, and a caller that does not take its
/// answer is closed when that deadline passes again.
final class MetricsServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let listen: MetricsListen

    /// Listens on `listen` until `close()`; a Unix socket gets mode 0660 and the control socket's group.
    static func start(_ listen: MetricsListen, registry: PrometheusCollectorRegistry, logger: Logger) async throws
        -> MetricsServer
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let admission = MetricsAdmission()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                guard admission.enter() else {
                    logger.warning(
                        "metrics: caller turned away, \(MetricsLimits.connections) connections are open",
                        metadata: ["event": "metrics_busy"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in admission.leave() }
                return channel.pipeline.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(MetricsHTTPHandler(registry: registry))
                }
            }
        do {
            let channel: any Channel
            switch listen {
            case .tcp(let address, let port):
                channel = try await bootstrap.bind(host: address, port: Int(port)).get()
            case .unix(let path):
                channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
                chmod(path, 0o660)
                if let controlGroup = getgrnam("controlnode") { _ = chown(path, geteuid(), controlGroup.pointee.gr_gid) }
            }
            return MetricsServer(group: group, channel: channel, listen: listen)
        } catch {
            try? await group.shutdownGracefully()
            throw MetricsServerError(listen: listen, underlying: error)
        }
    }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel, listen: MetricsListen) {
        self.group = group
        self.channel = channel
        self.listen = listen
    }

    /// The port it listens on (useful when the configuration asked for port 0), or nil on a Unix socket.
    var port: Int? { channel.localAddress?.port }

    /// Stops listening, closes every connection and ends the event-loop thread.
    func close() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
        if case .unix(let path) = listen { unlink(path) }
    }
}

/// Limits of the metrics endpoint.
enum MetricsLimits {
    /// Connections open at once; Prometheus needs one per server scraping us.
    static let connections = 16
    /// From a connection's opening, or from the end of the previous answer, until a whole request has arrived; and
    /// for the caller to take an answer.
    static let requestDeadline: TimeAmount = .seconds(10)
}

/// Counts the connections open, from the accept thread and their close callbacks.
private final class MetricsAdmission: Sendable {
    private let open = Locked(0)

    func enter() -> Bool {
        open.withLock { count in
            guard count < MetricsLimits.connections else { return false }
            count += 1
            return true
        }
    }

    func leave() { open.withLock { $0 -= 1 } }
}

/// The metrics endpoint could not start.
struct MetricsServerError: Error, CustomStringConvertible {
    let listen: MetricsListen
    let underlying: any Error

    var description: String {
        "cannot serve metrics on \(listen) (daemon.metrics_listen): \(underlying); "
            + "is another process using it? choose another address or port, or remove metrics_listen"
    }
}
