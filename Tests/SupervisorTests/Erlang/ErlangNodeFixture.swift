import Foundation
import ReleaseSupervisor

/// A private EPMD on a free loopback port and one real Erlang node registered with it.
///
/// Every fixture has its own EPMD port, node name and cookie, so tests run in parallel without
/// meeting each other or a system EPMD. Processes are stopped by pid in `stop()`, which tests call in
/// a `defer`; `TestProcess` also stops them when the fixture is released, whatever happened.
final class ErlangNodeFixture: Sendable {
    let epmdPort: UInt16
    let nodeName: NodeName
    let cookie: String
    let epmd: TestProcess
    let node: TestProcess
    let directory: TemporaryDirectory

    /// The helper processes every node registers.
    ///
    /// `echo`: `{From, Message}` comes back to `From` as `{echo, Message}`.
    /// `prober`: `{monitor, Target, From}` monitors Target and reports `{down, Reason}` (or
    /// `{down, timeout}` after a second); `{link_unlink, Pid, From}` links to Pid, unlinks, and
    /// reports `unlinked`; `{ping, Node, From}` reports `{pong, net_adm:ping(Node)}`.
    static let helperProcesses = """
        register(echo, spawn(fun Loop() -> receive {From, Message} -> From ! {echo, Message}, Loop() end end)),
        register(prober, spawn(fun Loop() ->
            receive
                {monitor, Target, From} ->
                    Ref = erlang:monitor(process, Target),
                    receive {'DOWN', Ref, _, _, Reason} -> From ! {down, Reason}
                    after 1000 -> erlang:demonitor(Ref, [flush]), From ! {down, timeout} end;
                {link_unlink, Pid, From} -> link(Pid), unlink(Pid), From ! unlinked;
                {ping, Node, From} -> From ! {pong, net_adm:ping(Node)}
            end,
            Loop() end)).
        """

    /// Starts EPMD and a node named `alive` (with a unique suffix), short names unless `longNames`.
    init(_ alive: String = "test", longNames: Bool = false, eval: String = ErlangNodeFixture.helperProcesses) async throws {
        directory = try TemporaryDirectory(prefix: "controlnode-erlang")
        epmdPort = try freeLoopbackPort()
        cookie = "cookie-\(UInt64.random(in: 0...UInt64.max))"
        let uniqueAlive = "\(alive)_\(UInt32.random(in: 0...UInt32.max))"
        var environment = ProcessInfo.processInfo.environment
        environment["ERL_EPMD_PORT"] = String(epmdPort)
        environment["HOME"] = directory.path

        epmd = try TestProcess(
            "/usr/bin/epmd", ["-port", String(epmdPort), "-address", "127.0.0.1"], environment: environment,
            logPath: directory.file("epmd.log"))
        let port = epmdPort
        guard await eventually(timeout: .seconds(10), { isListening(port: port) }) else {
            throw FixtureError("epmd did not listen on \(epmdPort): \(epmd.log)")
        }

        // The node registers with EPMD before it runs -eval; the last -eval writes this file, so that
        // tests start only once the helper processes exist.
        let readyMarker = directory.file("ready")
        let host = longNames ? "127.0.0.1" : Self.shortHostName()
        nodeName = try NodeName(alive: uniqueAlive, host: host)
        node = try TestProcess(
            "/usr/bin/erl",
            [
                longNames ? "-name" : "-sname", nodeName.description, "-setcookie", cookie, "-noshell", "-noinput",
                "-kernel", "inet_dist_use_interface", "{127,0,0,1}", "-eval", eval,
                "-eval", "ok = file:write_file(\"\(readyMarker)\", <<\"ready\">>).",
            ],
            environment: environment, logPath: directory.file("node.log"), name: "erl \(nodeName)")
        let epmdClient = EPMDClient.tcp(port: epmdPort)
        let registered = await eventually(timeout: .seconds(30), every: .milliseconds(50)) {
            (try? await epmdClient.lookup(uniqueAlive)) != nil
        }
        guard registered else { throw FixtureError("node \(nodeName) did not register with epmd: \(node.log)") }
        let ready = await eventually(timeout: .seconds(30), every: .milliseconds(20)) {
            FileManager.default.fileExists(atPath: readyMarker)
        }
        guard ready else { throw FixtureError("node \(nodeName) did not finish its -eval: \(node.log)") }
    }

    /// An EPMD client for the fixture's EPMD.
    var epmdClient: EPMDClient { EPMDClient.tcp(port: epmdPort) }

    /// The node's distribution port, from EPMD.
    func distributionPort() async throws -> UInt16 {
        guard let info = try await epmdClient.lookup(nodeName.alive) else {
            throw FixtureError("node \(nodeName) is not registered")
        }
        return info.port
    }

    /// Connects over TCP with the node's cookie (or `cookie`) and the given tick timeout; `messageBufferLimit`
    /// is for tests that read messages the node sends us (the default, as in the daemon, drops them).
    func connect(
        cookie: String? = nil, tickTimeout: Duration = .seconds(60), messageBufferLimit: Int = 0,
        maximumQueuedOutput: Int = 1 << 20
    ) async throws -> DistributionConnection {
        let stream = try await TCPStream.connect(host: "127.0.0.1", port: try await distributionPort())
        let configuration = DistributionConfiguration(
            cookie: Cookie(cookie ?? self.cookie), tickTimeout: tickTimeout,
            maximumQueuedOutput: maximumQueuedOutput, messageBufferLimit: messageBufferLimit)
        return try await DistributionConnection.connect(over: stream, to: nodeName, configuration: configuration)
    }

    /// Stops the node and EPMD, by pid, and removes the temporary directory.
    func stop() {
        Self.terminate(node)
        Self.terminate(epmd)
        directory.remove()
    }

    /// Kills the process by pid and waits until it is gone; nothing here needs a graceful stop.
    static func terminate(_ process: TestProcess) {
        guard process.isRunning else { return }
        kill(process.pid, SIGKILL)
        _ = process.waitForExit()
    }

    /// The host part of a short node name on this machine, as `erl -sname` picks it.
    static func shortHostName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return String(name.prefix { $0 != "." })
    }
}

/// Runs `connection`, and records its events, while `body` runs; then closes it and waits for it.
func running<Result: Sendable>(
    _ connection: DistributionConnection, _ body: (EventRecorder) async throws -> Result
) async throws -> Result {
    let recorder = EventRecorder()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await connection.run() }
        group.addTask {
            for await event in connection.events { await recorder.record(event) }
        }
        do {
            let result = try await body(recorder)
            await connection.close()
            try await group.waitForAll()
            return result
        } catch {
            await connection.close()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// The events of one connection, each with the moment it arrived.
actor EventRecorder {
    private(set) var events: [(event: DistributionEvent, at: ContinuousClock.Instant)] = []

    func record(_ event: DistributionEvent) {
        events.append((event, ContinuousClock.now))
    }

    /// The first event matching `predicate`, waiting up to `timeout` for it.
    func first(
        within timeout: Duration = .seconds(10), where predicate: @Sendable (DistributionEvent) -> Bool
    ) async -> (event: DistributionEvent, at: ContinuousClock.Instant)? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            if let match = events.first(where: { predicate($0.event) }) { return match }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// The nodedown event, waiting up to `timeout` for it.
    func nodedown(within timeout: Duration = .seconds(10)) async -> (reason: NodeDownReason, at: ContinuousClock.Instant)? {
        guard let (event, at) = await first(within: timeout, where: { if case .nodedown = $0 { true } else { false } }),
            case .nodedown(let reason) = event
        else { return nil }
        return (reason, at)
    }
}
