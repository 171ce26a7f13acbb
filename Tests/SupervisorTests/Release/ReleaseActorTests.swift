import Foundation
import Logging
import ReleaseSupervisor
import Synchronization
import Testing

/// Collects an actor's events as they happen, for tests that wait for a given one.
final class EventLog: Sendable {
    private final class Store: Sendable {
        let seen = Locked<[ReleaseEvent]>([])
    }

    private let store = Store()
    private let task: Task<Void, Never>

    init(_ actor: ReleaseActor) {
        let store = self.store
        task = Task { for await event in actor.events { store.seen.withLock { $0.append(event) } } }
    }

    var events: [ReleaseEvent] { store.seen.withLock { $0 } }
    var kinds: [ReleaseEvent.Kind] { events.map(\.kind) }

    /// Waits until an event of `kind` has been seen `count` times.
    func waitFor(_ kind: ReleaseEvent.Kind, count: Int = 1, timeout: Duration = .seconds(30)) async -> Bool {
        await eventually(timeout: timeout, every: .milliseconds(10)) { self.kinds.filter { $0 == kind }.count >= count }
    }

    deinit { task.cancel() }
}

@Suite("The supervising actor against a real sshd and a mix-built release", .serialized)
struct ReleaseActorTests {
    func makeActor(
        _ fixture: RemoteReleaseFixture, mode: ControlMode = .manage, policy: RestartPolicy = RestartPolicy(),
        health: HealthCheck? = nil, desired: String? = "0.1.0"
    ) -> (ReleaseActor, SSHConnectionPool) {
        var release = fixture.release()
        release.controlMode = mode
        release.restartPolicy = policy
        release.healthCheck = health
        let pool = SSHConnectionPool(logger: Logger(label: "test.pool"))
        let actor = ReleaseActor(
            release: release, host: fixture.host, pool: pool, registry: fixture.registry,
            desiredVersion: desired.flatMap { ReleaseVersion($0) }, tickTimeout: .seconds(5),
            logger: Logger(label: "test.actor"))
        return (actor, pool)
    }

    @Test("manage: deploys the desired version, restarts it after kill -9, and leaves it running when cancelled")
    func deployRestartCancel() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let (actor, pool) = makeActor(fixture)
        let log = EventLog(actor)
        let running = Task { await actor.run() }
        #expect(await log.waitFor(.connected))
        let first = await actor.currentState
        #expect(first.status == .running)
        #expect(first.version == ReleaseVersion("0.1.0"))
        let pid = try #require(first.osPid)

        kill(pid, SIGKILL)
        #expect(await log.waitFor(.nodedown))
        #expect(await log.waitFor(.restarted))
        let second = await actor.currentState
        #expect(second.status == .running)
        #expect(second.restartCount == 1)
        #expect(second.osPid != nil && second.osPid != pid)

        running.cancel()
        await actor.shutdown()
        await running.value
        let remote = try await fixture.remote()
        #expect(try await remote.registration() != nil)
        #expect(kill(second.osPid!, 0) == 0)
        await pool.closeAll()
    }

    @Test("the sshd process serving the connection killed: reconnected, release untouched (same OS pid)")
    func sshdKilled() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let (actor, pool) = makeActor(fixture)
        let log = EventLog(actor)
        let running = Task { await actor.run() }
        defer { running.cancel() }
        #expect(await log.waitFor(.connected))
        let pid = try #require(await actor.currentState.osPid)
        // The per-connection sshd processes, not the release (which sshd also spawned, in its own session).
        let releasePids = Set(fixture.releaseProcesses())
        for process in descendants(of: fixture.server.sshd!.pid) where !releasePids.contains(process) {
            kill(process, SIGKILL)
        }
        #expect(await log.waitFor(.reconnected))
        let after = await actor.currentState
        #expect(after.status == .running)
        #expect(after.osPid == pid)
        #expect(after.restartCount == 0)
        await actor.shutdown()
        await running.value
        await pool.closeAll()
    }

    @Test("the restart budget spent: failed, and no more attempts")
    func budgetSpent() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let (actor, pool) = makeActor(fixture, policy: RestartPolicy(maxRestarts: 1, window: .seconds(300)))
        let log = EventLog(actor)
        let running = Task { await actor.run() }
        defer { running.cancel() }
        #expect(await log.waitFor(.connected))
        kill(try #require(await actor.currentState.osPid), SIGKILL)
        #expect(await log.waitFor(.restarted))
        kill(try #require(await actor.currentState.osPid), SIGKILL)
        #expect(await log.waitFor(.failed))
        guard case .failed = await actor.currentState.status else {
            Issue.record("not failed: \(await actor.currentState.status)")
            return
        }
        let remote = try await fixture.remote()
        try await Task.sleep(for: .seconds(3))
        #expect(try await remote.registration() == nil)
        #expect(log.kinds.filter { $0 == .restarted }.count == 1)
        await actor.shutdown()
        await running.value
        await pool.closeAll()
    }

    @Test("a health check switched to failing: health_failed, then a restart")
    func healthCheck() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let check = HealthCheck(
            module: "Elixir.ServiceApp.Health", function: "check", interval: .milliseconds(200),
            timeout: .seconds(2), failuresBeforeAction: 2, onFailure: .restart)
        let (actor, pool) = makeActor(fixture, health: check)
        let log = EventLog(actor)
        let running = Task { await actor.run() }
        defer { running.cancel() }
        #expect(await log.waitFor(.connected))
        try await Task.sleep(for: .milliseconds(600))
        #expect(!log.kinds.contains(.healthFailed))
        let passing = await actor.currentState
        #expect(passing.healthy == true && passing.healthFailures == 0)
        let marker = "\(fixture.basePath)/0.1.0/tmp/unhealthy"
        try "".write(toFile: marker, atomically: true, encoding: .utf8)
        // The state shows the failures in a row (for `status`) before the threshold calls for the restart.
        #expect(await eventually {
            let state = await actor.currentState
            return state.healthy == false && state.healthFailures >= 1 && state.lastError?.hasPrefix("health check ") == true
        })
        #expect(await log.waitFor(.healthFailed))
        try FileManager.default.removeItem(atPath: marker)
        #expect(await log.waitFor(.restarted))
        #expect(await actor.currentState.status == .running)
        await actor.shutdown()
        await running.value
        await pool.closeAll()
    }

    @Test("observe mode reports a dead node and never restarts it")
    func observeMode() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let remote = try await fixture.remote()
        _ = try await remote.deploy(try fixture.entry("0.1.0"))
        let (actor, pool) = makeActor(fixture, mode: .observe)
        let log = EventLog(actor)
        let running = Task { await actor.run() }
        defer { running.cancel() }
        #expect(await log.waitFor(.connected))
        kill(try #require(await actor.currentState.osPid), SIGKILL)
        #expect(await log.waitFor(.nodedown))
        #expect(await log.waitFor(.stopped))
        try await Task.sleep(for: .seconds(3))
        #expect(try await remote.registration() == nil)
        #expect(!log.kinds.contains(.restarted))
        #expect(await actor.currentState.status == .notRunning)
        await actor.shutdown()
        await running.value
        await pool.closeAll()
    }
}

@Suite("Requests to the supervising actor", .serialized)
struct ReleaseActorRequestTests {
    @Test("a request during a deploy gets busy at once; connect mode keeps a tunnel; stop keeps it stopped")
    func busyTunnelAndStop() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        var release = fixture.release()
        release.controlMode = .connect
        let pool = SSHConnectionPool(logger: Logger(label: "test.pool"))
        let actor = ReleaseActor(
            release: release, host: fixture.host, pool: pool, registry: fixture.registry, desiredVersion: nil,
            tickTimeout: .seconds(5), logger: Logger(label: "test.actor"))
        let log = EventLog(actor)
        let running = Task { await actor.run() }
        defer { running.cancel() }
        // Nothing runs and connect mode never starts anything by itself.
        try await Task.sleep(for: .milliseconds(500))
        #expect(await actor.currentState.status == .notRunning)

        async let deployed: Void = actor.deploy(ReleaseVersion("0.1.0")!)
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await actor.requestInProgress != nil })
        let started = ContinuousClock.now
        await #expect { try await actor.stop() } throws: { ($0 as? ReleaseError)?.code == .busy }
        #expect(ContinuousClock.now - started < .milliseconds(100))
        try await deployed
        #expect(await log.waitFor(.connected))

        let state = await actor.currentState
        #expect(state.status == .running)
        let tunnel = try #require(state.localTunnelPort)
        let stream = try await TCPStream.connect(host: "127.0.0.1", port: tunnel)
        let node = try await DistributionConnection.withConnection(
            over: stream, to: state.nodeName!, configuration: DistributionConfiguration(cookie: Cookie(fixture.cookie))
        ) { try await $0.rpc("erlang", "node") }
        #expect(node == .atom(state.nodeName!.atom))

        try await actor.stop()
        #expect(await actor.currentState.status == .notRunning)
        let remote = try await fixture.remote()
        #expect(try await remote.registration() == nil)
        await actor.shutdown()
        await running.value
        await pool.closeAll()
    }
}
