import Dispatch
import Logging
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// The daemon: one `ReleaseActor` per (release, host) of the configuration, in one task group; `READY=1`
/// once every actor has initialised, `STATUS=` kept current, SIGHUP reloads the configuration (added pairs
/// start, removed ones stop supervising, changed ones restart, unchanged ones are untouched, a changed `version`
/// becomes a rollout), SIGTERM lets rollouts finish their step in flight, closes every connection and leaves
/// every release running. Desired versions, the history and rollouts in flight live in the state store.
actor Supervisor {
    let configPath: String
    var config: ControlNodeConfig
    let logger: Logger
    let store: any StateStore
    let engine: RolloutEngine
    /// Recent events for `controlnode events`: what the actors and the rollout engine report, in memory, to
    /// followers and (in batches) to the store.
    let eventLog: EventLog
    var registry: Registry?
    private let notifier = Notifier()
    /// sd_notify blocks when systemd's socket is full; it runs on this queue so the supervisor never does.
    private let notifications = DispatchQueue(label: "controlnode.sd-notify")
    private let pool: SSHConnectionPool
    var supervising: [ReleaseHost: (actor: ReleaseActor, task: Task<Void, Never>)] = [:]
    /// The remote shells open, by the id `remote-resize` names them with.
    var shells: [String: TerminalWindow] = [:]
    private var statuses: [ReleaseHost: ReleaseState.Status] = [:]
    var initialized: Set<ReleaseHost> = []
    var ready = false
    /// This daemon's membership of a cluster (`[cluster]`), or nil when it works alone.
    let cluster: ClusterMember?
    /// The cluster as last heard from `cluster`: who leads, the members, this member's role.
    var clusterState: ClusterState?
    /// Whether rollouts in flight were resumed since this member last became the one that drives them.
    var rolloutsResumed = false
    /// Pairs gained from a live member (sharded), and when they may be adopted.
    var handovers: [ReleaseHost: ContinuousClock.Instant] = [:]
    private var server: ControlServer?
    /// How often nodes are asked for their figures: set at start, from `metrics_listen` and `node_metrics_interval`.
    private let nodeStatsInterval: Duration?
    private let commands: AsyncStream<SupervisorCommand>
    let commandSink: AsyncStream<SupervisorCommand>.Continuation

    init(
        configPath: String, config: ControlNodeConfig, store: any StateStore, cluster: ClusterMember? = nil,
        logger: Logger
    ) {
        self.cluster = cluster
        self.configPath = configPath
        self.config = config
        self.store = store
        self.logger = logger
        let eventLog = EventLog()
        self.eventLog = eventLog
        engine = RolloutEngine(store: store, logger: logger, eventLog: eventLog)
        pool = SSHConnectionPool(logger: logger)
        nodeStatsInterval = config.daemon.metricsListen == nil ? nil : config.daemon.nodeMetricsInterval
        (commands, commandSink) = AsyncStream.makeStream()
    }

    /// Runs until SIGTERM or SIGINT.
    func run() async throws {
        let signals = SignalWatcher(sink: commandSink)
        defer { signals.cancel() }
        let control = try ControlServer(path: config.daemon.controlSocket, logger: logger) { [weak self] request, requester in
            guard let self else { return ControlAnswer(ControlResponse(ok: false, error: "controlnode is stopping")) }
            return await self.answer(request, from: requester)
        }
        control.start()
        server = control
        defer { control.close() }
        if cluster == nil {
            let desired = try await store.desiredVersions()
            try start(config.supervised(), desired: desired)
        } else {
            _ = try config.supervised()  // a configuration error stops the daemon before it joins
        }
        let engine = self.engine
        let (eventLog, store, logger) = (self.eventLog, self.store, self.logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            group.addTask { await eventLog.store(into: store, logger: logger) }
            if let cluster {
                let sink = commandSink
                group.addTask { await cluster.run() }
                group.addTask { for await state in cluster.updates { sink.yield(.cluster(state)) } }
            } else if supervising.isEmpty {
                markReady()
            }
            for await command in commands {
                switch command {
                case .event(let event):
                    record(event)
                case .ready:
                    guard drivesRollouts else { break }
                    rolloutsResumed = true
                    await resumeRollouts()
                    await rollOutConfig(Array(config.releases.keys).sorted())
                case .cluster(let state):
                    await clusterChanged(state)
                case .recheckOwnership:
                    if let clusterState { await clusterChanged(clusterState) }
                case .reload:
                    await reload()
                case .terminate:
                    await shutdown()
                }
            }
            group.cancelAll()
        }
    }

    /// Starts an actor for each pair not yet supervised, at the version the store says it should run (else the
    /// configuration's, in manage mode: a first start, or a pair new to the configuration).
    func start(_ pairs: [ControlNodeConfig.Supervised], desired: [ReleaseHost: DesiredVersion]) {
        if registry == nil {
            do {
                registry = try Registry(directory: config.daemon.registry)
            } catch {
                logger.error(
                    "cannot open the registry; releases can be supervised but not deployed",
                    metadata: ["event": "registry_unavailable", "error": "\(error)"])
            }
        }
        for pair in pairs where supervising[pair.key] == nil {
            let version = desired[pair.key]?.version ?? (pair.release.controlMode == .manage ? pair.desiredVersion : nil)
            let key = pair.key
            let gate = cluster.map { member in ActionGate { action in await member.confirm(action, for: key) } }
            let actor = ReleaseActor(
                release: pair.release, host: pair.host, pool: pool, registry: registry,
                desiredVersion: version, tickTimeout: config.daemon.tickTimeout,
                nodeStatsInterval: nodeStatsInterval, actionGate: gate, logger: logger)
            let sink = commandSink
            // Each actor's task is owned here: cancelled on removal, reload or shutdown, awaited on shutdown.
            let task = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await actor.run() }
                    group.addTask { for await event in actor.events { sink.yield(.event(event)) } }
                }
            }
            supervising[pair.key] = (actor, task)
            statuses[pair.key] = .notRunning
        }
    }

    func stop(_ key: ReleaseHost) async {
        guard let entry = supervising.removeValue(forKey: key) else { return }
        await entry.actor.shutdown()
        entry.task.cancel()
        await entry.task.value
        statuses[key] = nil
        initialized.remove(key)
    }

    private func record(_ event: ReleaseEvent) {
        let key = ReleaseHost(release: event.release, host: event.host)
        guard supervising[key] != nil else { return }
        statuses[key] = event.to
        eventLog.publish(EventRecord(event, at: .now()))
        if event.kind == .initialized { initialized.insert(key) }
        if initialized.count == supervising.count {
            if !ready {
                markReady()
            } else if cluster != nil, drivesRollouts, !rolloutsResumed {
                // The new leader has adopted every pair: resume what the old one drove, once.
                rolloutsResumed = true
                commandSink.yield(.ready)
            }
        }
        publishStatus()
    }

    func markReady() {
        ready = true
        if drivesRollouts { rolloutsResumed = true }
        commandSink.yield(.ready)
        let status = statusLine()
        notify { try $0.ready(status: status) }
        logger.notice("controlnode ready", metadata: ["event": "ready", "status": "\(statusLine())"])
    }

    func publishStatus() {
        guard ready else { return }
        let line = statusLine()
        notify { try $0.status(line) }
    }

    /// Sends to systemd from the notification queue, in order, without waiting.
    private func notify(_ send: @escaping @Sendable (Notifier) throws -> Bool) {
        let notifier = self.notifier
        let logger = self.logger
        notifications.async {
            do { _ = try send(notifier) } catch { logger.warning("sd_notify failed: \(error)", metadata: ["event": "notify_failed"]) }
        }
    }

    /// Whether the supervisor's executor answers: the watchdog's liveness check.
    func isResponsive() -> Bool { true }

    /// `12 releases: 11 running, 1 failed`.
    func statusLine() -> String {
        var counts: [String: Int] = [:]
        for status in statuses.values { counts["\(status)", default: 0] += 1 }
        let parts = counts.keys.sorted().map { "\(counts[$0]!) \($0.replacingUnderscores())" }
        let line = "\(statuses.count) releases" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
        return clusterRolePrefix + line
    }

    /// Re-reads the configuration and applies the difference; nil when applied, else why it was rejected.
    @discardableResult
    func reload() async -> String? {
        notify { try $0.reloading() }
        var next: ControlNodeConfig
        let pairs: [ControlNodeConfig.Supervised]
        do {
            next = try ControlNodeConfig.load(path: configPath).config
            pairs = try next.supervised()
        } catch {
            logger.error(
                "configuration rejected; the running one stays in force",
                metadata: ["event": "reload_failed", "error": "\(error)"])
            let line = statusLine()
            notify { try $0.ready(status: line) }
            return "\(error)"
        }
        if next.cluster != config.cluster {
            logger.warning(
                "a change of [cluster] takes effect when the daemon restarts; the running membership stays as it is",
                metadata: ["event": "config_warning"])
            next.cluster = config.cluster
        }
        if next.daemon.metricsListen != config.daemon.metricsListen
            || next.daemon.nodeMetricsInterval != config.daemon.nodeMetricsInterval
        {
            logger.warning(
                "daemon.metrics_listen and daemon.node_metrics_interval take effect when the daemon restarts",
                metadata: ["event": "config_warning"])
        }
        var diff = ConfigDiff(from: config, to: next)
        if let refusal = await refusal(of: diff, next) {
            logger.error(
                "configuration rejected; the running one stays in force",
                metadata: ["event": "reload_failed", "error": "\(refusal)"])
            let line = statusLine()
            notify { try $0.ready(status: line) }
            return refusal
        }
        // A cookie file rewritten in place leaves the configuration as it was, but its pairs must use the new cookie.
        let cookies = Dictionary(pairs.map { ($0.key, $0.release.cookie) }) { first, _ in first }
        let rotated = diff.unchanged.filter { key in
            guard let running = supervising[key]?.actor.release.cookie else { return false }
            return cookies[key] != running
        }
        if !rotated.isEmpty {
            diff.unchanged.removeAll { rotated.contains($0) }
            diff.changed = (diff.changed + rotated).sorted()
        }
        config = next
        await apply(diff, pairs)
        await rollOutConfig(diff.versionChanged + Set(diff.added.map(\.release)).sorted())
        return nil
    }

    private func apply(_ diff: ConfigDiff, _ pairs: [ControlNodeConfig.Supervised]) async {
        for key in diff.removed + diff.changed { await stop(key) }
        let wanted = Set(diff.added + diff.changed).filter(ownsHere)
        let desired = (try? await store.desiredVersions()) ?? [:]
        start(pairs.filter { wanted.contains($0.key) }, desired: desired)
        logger.notice(
            "configuration reloaded",
            metadata: [
                "event": "reloaded", "added": "\(diff.added.count)", "removed": "\(diff.removed.count)",
                "changed": "\(diff.changed.count)", "versions_changed": "\(diff.versionChanged.count)",
            ])
        let status = statusLine()
        notify { try $0.ready(status: status) }
    }

    private func shutdown() async {
        notify { try $0.stopping(status: "closing connections; releases keep running") }
        logger.notice("stopping: closing connections, leaving releases running", metadata: ["event": "stopping"])
        // A rollout finishes the step in flight (bounded well inside the unit's stop timeout) and is resumed later.
        await engine.interrupt(within: .seconds(20))
        for key in Array(supervising.keys) { await stop(key) }
        // Only once nothing acts here does the lease go, so that another member may take over at once.
        await cluster?.leave()
        await pool.closeAll()
        eventLog.finishFollowers()
        commandSink.finish()
        notifications.sync {}  // STOPPING=1 has gone out before the process exits
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}

/// What wakes the supervisor.
enum SupervisorCommand: Sendable {
    case event(ReleaseEvent)
    /// Every actor has answered: resume rollouts in flight and roll out configuration changes.
    case ready
    /// The cluster member's state changed: role, leader or members.
    case cluster(ClusterState)
    /// A handover delay has passed: adopt the pairs it held back.
    case recheckOwnership
    case reload
    case terminate
}

/// SIGTERM, SIGINT and SIGHUP as commands to the supervisor, through Dispatch signal sources (the signals are
/// ignored for the process, so they only arrive here). Installed before `READY=1`, so an early SIGHUP is handled.
final class SignalWatcher {
    private let sources: [any DispatchSourceSignal]

    init(sink: AsyncStream<SupervisorCommand>.Continuation) {
        let wanted: [(Int32, SupervisorCommand)] = [(SIGTERM, .terminate), (SIGINT, .terminate), (SIGHUP, .reload)]
        sources = wanted.map { signalNumber, command in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { sink.yield(command) }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
