import Logging
import ReleaseSupervisor
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `release HOST PORT USER KEY KNOWN_HOSTS EPMD_PORT BASE REGISTRY COOKIE RUNS`: the release scenarios of
/// the issue, measured on a real sshd and a mix-built release; medians of RUNS runs, one JSON line each.
enum ReleaseBench {
    static func run(_ arguments: [String]) async throws {
        guard arguments.count >= 10, let port = UInt16(arguments[1]), let epmdPort = UInt16(arguments[5]),
            let runs = Int(arguments[9])
        else { fail("usage: release HOST PORT USER KEY KNOWN_HOSTS EPMD_PORT BASE REGISTRY COOKIE RUNS") }
        let host = HostSpec(
            name: "bench", address: arguments[0], sshPort: port, user: arguments[2],
            authentication: .keyFile(path: arguments[3]), knownHostsPath: arguments[4], epmdPort: epmdPort)
        let release = ReleaseSpec(
            name: "service_app", basePath: arguments[6], cookie: Cookie(arguments[8]),
            startTimeout: .seconds(60), environment: ["ERL_EPMD_PORT": String(epmdPort)])
        let registry = try Registry(directory: arguments[7])
        let entry = try registry.fetch("service_app", ReleaseVersion("0.1.0")!)
        let marks = StartMarks()
        let logger = Logger(label: "bench") { _ in marks }
        let ssh = try await SSHConnection.connect(host.sshSettings, logger: logger)
        var remote = RemoteRelease(release: release, host: host, ssh: ssh, logger: logger)

        var coldBoot: [Double] = [], untilStart: [Double] = [], deployed: [Double] = [], initialize: [Double] = []
        var nodedown: [Double] = [], socketClosed: [Double] = [], overhead: [Double] = []
        for _ in 0..<runs {
            // The release's own cold boot: bin/service_app daemon by hand over ssh, until it is in EPMD.
            let version = try await remote.deploy(entry)
            try await remote.terminate(try await remote.initializeState().state)
            let root = remote.path(of: version.version!)
            let started = ContinuousClock.now
            _ = try await ssh.execute(
                "cd '\(root)' && RELEASE_COOKIE='\(arguments[8])' ERL_EPMD_PORT=\(epmdPort) bin/service_app daemon")
            while try await remote.registration() == nil { try await Task.sleep(for: .milliseconds(5)) }
            coldBoot.append(seconds(ContinuousClock.now - started))
            try await remote.terminate(try await remote.initializeState().state)

            // deploy: until the start command was issued, and until booted.
            marks.reset()
            let deployStart = ContinuousClock.now
            _ = try await remote.deploy(entry, replace: true)
            deployed.append(seconds(ContinuousClock.now - deployStart))
            if let issued = marks.started { untilStart.append(seconds(issued - deployStart)) }

            // initialize_state on the running release (the node's name known, as the actor knows it).
            remote.knownNodeName = try await remote.nodeName()
            let initStart = ContinuousClock.now
            let (state, link) = try await remote.initializeState()
            initialize.append(seconds(ContinuousClock.now - initStart))

            // kill -9 → nodedown seen on the link.
            let down = Mutex<ContinuousClock.Instant?>(nil)
            let watcher = Task {
                for await event in link!.connection.events {
                    if case .nodedown = event {
                        down.withLock { $0 = .now }
                        return
                    }
                }
            }
            let floor = state.distributionPort.flatMap { SocketCloseWatch(port: $0) }
            let killed = ContinuousClock.now
            kill(state.osPid!, SIGKILL)
            await watcher.value
            if let at = down.withLock({ $0 }) {
                nodedown.append(seconds(at - killed))
                if let closedAt = try await floor?.closed() {
                    socketClosed.append(seconds(closedAt - killed))
                    overhead.append(seconds(at - closedAt))
                }
            }
            await link?.close()
        }
        try await actorScenarios(release: release, host: host, registry: registry, runs: runs, emit: { line in print(line) })
        emit("release_cold_boot", coldBoot, baseline: nil)
        emit("deploy_until_start_issued", untilStart, baseline: 0.878, note: "target <= 0.3 s; baseline: reference deploy/4 call")
        emit("deploy_until_booted", deployed, baseline: 1.287, note: "target <= cold boot + 0.3 s")
        emit("initialize_state", initialize, baseline: 0.346, note: "target <= 0.1 s")
        emit("kill9_to_nodedown", nodedown, baseline: 0.0099, note: "target median <= 5 ms")
        emit("kill9_to_node_sockets_closed", socketClosed, baseline: nil,
            note: "the floor: a plain TCP peer of the node on the same machine sees its socket close")
        emit("node_sockets_closed_to_nodedown", overhead, baseline: nil,
            note: "what sshd and controlnode add to the floor (per run)")
        await ssh.close()
    }

    /// kill -9 → restarted and reconnected, and tunnel lost → reconnected, through a ReleaseActor.
    static func actorScenarios(
        release: ReleaseSpec, host: HostSpec, registry: Registry, runs: Int, emit: (String) -> Void
    ) async throws {
        let pool = SSHConnectionPool(logger: Logger(label: "bench"))
        // No backoff between the measured restarts: the figure is the mechanism's, not the policy's.
        var release = release
        release.restartPolicy = RestartPolicy(maxRestarts: 100, initialBackoff: .zero)
        let actor = ReleaseActor(
            release: release, host: host, pool: pool, registry: registry, desiredVersion: ReleaseVersion("0.1.0"),
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        let seen = EventTimes()
        let listener = Task { for await event in actor.events { seen.record(event.kind) } }
        let supervisor = Task { await actor.run() }
        _ = try await seen.wait(for: .connected, count: 1)
        var restarted: [Double] = [], reconnected: [Double] = []
        for index in 0..<runs {
            let pid = await actor.currentState.osPid!
            let killed = ContinuousClock.now
            kill(pid, SIGKILL)
            let at = try await seen.wait(for: .restarted, count: index + 1)
            restarted.append(seconds(at - killed))
        }
        for index in 0..<runs {
            // The tunnel lost: the SSH connection's server side dies; the release is not touched.
            let ssh = try await pool.connection(for: host.sshSettings)
            let pidText = try await ssh.execute("echo $PPID").stdoutText.split(separator: "\n").first.map(String.init) ?? ""
            let lost = ContinuousClock.now
            if let sessionPid = Int32(pidText) { kill(sessionPid, SIGKILL) }
            let at = try await seen.wait(for: .reconnected, count: index + 1)
            reconnected.append(seconds(at - lost))
        }
        supervisor.cancel()
        await actor.shutdown()
        await supervisor.value
        listener.cancel()
        await pool.closeAll()
        emitLine("kill9_to_restarted_and_reconnected", restarted, baseline: 1.754, note: "target <= cold boot + 0.3 s", to: emit)
        emitLine("tunnel_lost_to_reconnected", reconnected, baseline: 0.351, note: "target <= 0.1 s", to: emit)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func emit(_ scenario: String, _ values: [Double], baseline: Double?, note: String = "") {
        emitLine(scenario, values, baseline: baseline, note: note) { print($0) }
    }

    static func emitLine(_ scenario: String, _ values: [Double], baseline: Double?, note: String, to emit: (String) -> Void) {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return }
        let median = sorted[sorted.count / 2]
        var line = "{\"scenario\":\"\(scenario)\",\"ours_s\":\(rounded(median))"
        if let baseline {
            line += ",\"baseline_s\":\(baseline),\"ratio\":\(rounded(median / baseline)),\"baseline\":\"reference library median (baseline-measurements.md)\""
        }
        line += ",\"runs_s\":[\(sorted.map { "\(rounded($0))" }.joined(separator: ","))]"
        if !note.isEmpty { line += ",\"note\":\"\(note)\"" }
        emit(line + "}")
    }

    static func rounded(_ value: Double) -> Double { (value * 10000).rounded() / 10000 }
}

/// When the deploy issued its start command: the time of the "release started" log line.
final class StartMarks: LogHandler, @unchecked Sendable {
    // @unchecked: the only mutable state is behind `mark`'s mutex; metadata and level are never changed.
    private let mark = Mutex<ContinuousClock.Instant?>(nil)
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    func log(event: LogEvent) {
        if event.message.description == "release started" { mark.withLock { $0 = .now } }
    }
    var started: ContinuousClock.Instant? { mark.withLock { $0 } }
    func reset() { mark.withLock { $0 = nil } }
}

/// The times at which an actor's events of each kind arrived.
final class EventTimes: Sendable {
    private let times = Mutex<[(ReleaseEvent.Kind, ContinuousClock.Instant)]>([])

    func record(_ kind: ReleaseEvent.Kind) { times.withLock { $0.append((kind, .now)) } }

    /// Waits until `count` events of `kind` arrived; returns the time of the last of them.
    func wait(for kind: ReleaseEvent.Kind, count: Int) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            let matching = times.withLock { $0.filter { $0.0 == kind } }
            if matching.count >= count { return matching[count - 1].1 }
            try await Task.sleep(for: .milliseconds(1))
        }
        fail("no \(kind) event within 60 s")
    }
}
