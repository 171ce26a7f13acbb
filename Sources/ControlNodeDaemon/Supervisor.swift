import Dispatch
import Logging
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// The daemon: one `ReleaseActor` per (release, host) of the configuration, in one task group; `READY=1`
/// once every actor has initialised, `STATUS=` kept current, SIGHUP reloads the configuration (added pairs
/// start, removed ones stop supervising, changed ones restart, unchanged ones are untouched), SIGTERM closes
/// every connection and leaves every release running.
actor Supervisor {
    private let configPath: String
    private var config: ControlNodeConfig
    private let logger: Logger
    private let notifier = Notifier()
    /// sd_notify blocks when systemd's socket is full; it runs on this queue so the supervisor never does.
    private let notifications = DispatchQueue(label: "controlnode.sd-notify")
    private let pool: SSHConnectionPool
    private var supervising: [ReleaseHost: (actor: ReleaseActor, task: Task<Void, Never>)] = [:]
    private var statuses: [ReleaseHost: ReleaseState.Status] = [:]
    private var initialized: Set<ReleaseHost> = []
    private var ready = false
    private var server: ControlServer?
    private let commands: AsyncStream<SupervisorCommand>
    private let commandSink: AsyncStream<SupervisorCommand>.Continuation

    init(configPath: String, config: ControlNodeConfig, logger: Logger) {
        self.configPath = configPath
        self.config = config
        self.logger = logger
        pool = SSHConnectionPool(logger: logger)
        (commands, commandSink) = AsyncStream.makeStream()
    }

    /// Runs until SIGTERM or SIGINT.
    func run() async throws {
        let signals = SignalWatcher(sink: commandSink)
        defer { signals.cancel() }
        let control = try ControlServer(path: config.daemon.controlSocket, logger: logger) { [weak self] request in
            guard let self else { return ControlAnswer(ControlResponse(ok: false, error: "controlnode is stopping")) }
            if request.command == "tunnel" { return await self.openTunnel(request) }
            return ControlAnswer(await self.handle(request))
        }
        control.start()
        server = control
        defer { control.close() }
        try start(config.supervised())
        if supervising.isEmpty { markReady() }
        for await command in commands {
            switch command {
            case .event(let event):
                record(event)
            case .reload:
                await reload()
            case .terminate:
                await shutdown()
                return
            }
        }
    }

    private func start(_ pairs: [ControlNodeConfig.Supervised]) {
        let registry: Registry?
        do {
            registry = try Registry(directory: config.daemon.registry)
        } catch {
            registry = nil
            logger.error(
                "cannot open the registry; releases can be supervised but not deployed",
                metadata: ["event": "registry_unavailable", "error": "\(error)"])
        }
        for pair in pairs where supervising[pair.key] == nil {
            let actor = ReleaseActor(
                release: pair.release, host: pair.host, pool: pool, registry: registry,
                desiredVersion: pair.desiredVersion, tickTimeout: config.daemon.tickTimeout, logger: logger)
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

    private func stop(_ key: ReleaseHost) async {
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
        if event.kind == .initialized { initialized.insert(key) }
        if !ready && initialized.count == supervising.count { markReady() }
        publishStatus()
    }

    private func markReady() {
        ready = true
        let status = statusLine()
        notify { try $0.ready(status: status) }
        logger.notice("controlnode ready", metadata: ["event": "ready", "status": "\(statusLine())"])
    }

    private func publishStatus() {
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
        return "\(statuses.count) releases" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
    }

    /// Re-reads the configuration and applies the difference; nil when applied, else why it was rejected.
    @discardableResult
    private func reload() async -> String? {
        notify { try $0.reloading() }
        let next: ControlNodeConfig
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
        var diff = ConfigDiff(from: config, to: next)
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
        return nil
    }

    private func apply(_ diff: ConfigDiff, _ pairs: [ControlNodeConfig.Supervised]) async {
        for key in diff.removed + diff.changed { await stop(key) }
        let wanted = Set(diff.added + diff.changed)
        start(pairs.filter { wanted.contains($0.key) })
        logger.notice(
            "configuration reloaded",
            metadata: [
                "event": "reloaded", "added": "\(diff.added.count)", "removed": "\(diff.removed.count)",
                "changed": "\(diff.changed.count)",
            ])
        let status = statusLine()
        notify { try $0.ready(status: status) }
    }

    /// Opens a local tunnel to a release's distribution port for an operator; it closes when the CLI goes.
    func openTunnel(_ request: ControlRequest) async -> ControlAnswer {
        guard let release = request.release, let host = request.host,
            let entry = supervising[ReleaseHost(release: release, host: host)]
        else {
            return ControlAnswer(ControlResponse(ok: false, error: "name a supervised release and its host (--host)"))
        }
        do {
            let forward = try await entry.actor.openTunnel()
            logger.notice(
                "tunnel opened", metadata: ["event": "tunnel", "release": "\(release)", "host": "\(host)", "port": "\(forward.port)"])
            return ControlAnswer(
                ControlResponse(ok: true, message: "\(forward.port)"),
                heldUntilClosed: { forward.close() })
        } catch {
            return ControlAnswer(ControlResponse(ok: false, error: "\(error)"))
        }
    }

    /// Answers one control-socket request.
    func handle(_ request: ControlRequest) async -> ControlResponse {
        let selected = supervising.filter { key, _ in
            (request.release == nil || key.release == request.release) && (request.host == nil || key.host == request.host)
        }.sorted { $0.key < $1.key }
        if request.command == "reload" {
            if let rejection = await reload() {
                return ControlResponse(
                    ok: false, error: "\(rejection); the running configuration stays in force, fix the file and reload again")
            }
            return ControlResponse(ok: true, message: "reloaded \(configPath)")
        }
        if request.command == "status" {
            var rows: [StatusRow] = []
            for (_, entry) in selected {
                rows.append(StatusRow(await entry.actor.currentState, mode: entry.actor.release.controlMode))
            }
            return ControlResponse(ok: true, status: rows)
        }
        guard request.release != nil else { return ControlResponse(ok: false, error: "name a release") }
        guard !selected.isEmpty else {
            return ControlResponse(
                ok: false, error: "no release \(request.release!)\(request.host.map { " on host \($0)" } ?? "") in \(configPath)")
        }
        var failures: [String] = []
        for (key, entry) in selected {
            do {
                switch request.command {
                case "deploy":
                    guard let text = request.version, let version = ReleaseVersion(text) else {
                        return ControlResponse(ok: false, error: "deploy needs a version such as 0.2.0")
                    }
                    try await entry.actor.deploy(version, replace: request.replace ?? false)
                case "start": try await entry.actor.start()
                case "stop": try await entry.actor.stop()
                case "restart": try await entry.actor.restart()
                case "rollback": try await entry.actor.rollback()
                default: return ControlResponse(ok: false, error: "unknown command \(request.command)")
                }
            } catch {
                failures.append("\(key): \(error)")
            }
        }
        if failures.isEmpty {
            return ControlResponse(ok: true, message: "\(request.command): done for \(selected.map { "\($0.key)" }.joined(separator: ", "))")
        }
        return ControlResponse(ok: false, error: failures.joined(separator: "; "))
    }

    private func shutdown() async {
        notify { try $0.stopping(status: "closing connections; releases keep running") }
        logger.notice("stopping: closing connections, leaving releases running", metadata: ["event": "stopping"])
        for key in Array(supervising.keys) { await stop(key) }
        await pool.closeAll()
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
