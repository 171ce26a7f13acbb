import ArgumentParser
import Logging
import ReleaseSupervisor

/// `controlnode run`: the daemon, in the foreground, as systemd runs it (`Type=notify`).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground: supervise every release of the configuration until SIGTERM.")

    @Option(help: "The configuration file.") var config: String = ControlNodeConfig.defaultPath
    @Option(help: "Where logs go: journal, stderr, or automatic (journal under systemd).") var logTarget: String = "automatic"

    func run() async throws {
        let loaded: LoadedConfig
        do {
            loaded = try ControlNodeConfig.load(path: config)
        } catch {
            standardError("controlnode: \(error)")
            throw ExitCode(2)
        }
        let destination = LogDestination(rawValue: logTarget) ?? .automatic()
        let journal = try DaemonLogging.bootstrap(destination: destination, level: loaded.config.daemon.logLevel)
        defer { journal?.close() }
        let logger = Logger(label: "controlnode")
        for warning in loaded.warnings { logger.warning("\(warning)", metadata: ["event": "config_warning"]) }
        let store: SQLiteStateStore
        do {
            store = try SQLiteStateStore(directory: loaded.config.daemon.stateDirectory)
        } catch {
            logger.critical("cannot open the state store: \(error)", metadata: ["event": "failed"])
            standardError("controlnode: \(error)")
            throw ExitCode(1)
        }
        var metrics: MetricsServer?
        if let listen = loaded.config.daemon.metricsListen {
            let registry = MetricsEndpoint.bootstrap()
            do {
                metrics = try await MetricsServer.start(listen, registry: registry, logger: logger)
                logger.notice("serving metrics on \(listen)", metadata: ["event": "metrics_listening"])
            } catch {
                logger.critical("\(error)", metadata: ["event": "failed"])
                standardError("controlnode: \(error)")
                throw ExitCode(1)
            }
        }
        var gateway: EtcdGateway?
        var member: ClusterMember?
        if let cluster = loaded.config.cluster {
            do {
                // A request to etcd may take at most half the fencing margin, so a hung endpoint cannot carry the
                // member past the point where it must stop acting.
                let client = try EtcdGateway(config: cluster, timeout: max(.milliseconds(500), cluster.leaseTTL / 10))
                gateway = client
                member = ClusterMember(config: cluster, etcd: client, logger: logger)
                logger.notice(
                    "joining the cluster at \(cluster.endpoints.map { "\($0)" }.joined(separator: ", ")) as \(cluster.memberName)",
                    metadata: ["event": "cluster_joining", "mode": "\(cluster.mode.rawValue)"])
            } catch {
                logger.critical("\(error)", metadata: ["event": "failed"])
                standardError("controlnode: \(error)")
                throw ExitCode(1)
            }
        }
        let supervisor = Supervisor(
            configPath: config, config: loaded.config, store: store, cluster: member, logger: logger)
        let watchdog = try Watchdog.fromEnvironment()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let watchdog {
                    // Pings only while the supervisor answers: a stuck supervisor lets systemd's watchdog fire.
                    group.addTask {
                        try await watchdog.run(
                            isAlive: { await supervisor.isResponsive() },
                            onMissedPing: { timedOut in
                                logger.warning(
                                    "watchdog ping withheld: the supervisor \(timedOut ? "did not answer in time" : "is not healthy")",
                                    metadata: ["event": "watchdog"])
                            })
                    }
                }
                try await supervisor.run()
                group.cancelAll()
            }
        } catch {
            await metrics?.close()
            await gateway?.close()
            logger.critical("cannot start: \(error)", metadata: ["event": "failed"])
            standardError("controlnode: \(error)")
            throw ExitCode(1)
        }
        await metrics?.close()
        await gateway?.close()
    }
}
