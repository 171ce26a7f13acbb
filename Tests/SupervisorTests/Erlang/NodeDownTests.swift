import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("Node down detection")
struct NodeDownTests {
    @Test("rpc init:stop/0 is followed by nodedown")
    func initStop() async throws {
        let fixture = try await ErlangNodeFixture("stop")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        try await running(connection) { recorder in
            let reply = try await connection.rpc("init", "stop")
            #expect(reply == "ok")
            let down = await recorder.nodedown(within: .seconds(15))
            #expect(down?.reason == .closedByPeer)
            let events = await recorder.events.filter { if case .nodedown = $0.event { true } else { false } }
            #expect(events.count == 1)
            await #expect(throws: DistributionError.self) { try await connection.rpc("erlang", "node") }
        }
    }

    @Test("kill -9 of the node gives nodedown within 100 ms")
    func killNine() async throws {
        let fixture = try await ErlangNodeFixture("kill")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        try await running(connection) { recorder in
            _ = try await connection.rpc("erlang", "node")
            let killed = ContinuousClock.now
            kill(fixture.node.pid, SIGKILL)
            let down = try #require(await recorder.nodedown(within: .seconds(5)))
            #expect(down.at - killed < .milliseconds(100), "nodedown after \(down.at - killed)")
            #expect(down.reason == .closedByPeer || { if case .connectionLost = down.reason { true } else { false } }())
        }
    }

    @Test("a node that stops answering gives nodedown within the tick timeout")
    func stoppedNode() async throws {
        let fixture = try await ErlangNodeFixture("frozen")
        defer {
            kill(fixture.node.pid, SIGCONT)
            fixture.stop()
        }
        let tickTimeout = Duration.seconds(2)
        let connection = try await fixture.connect(tickTimeout: tickTimeout)
        try await running(connection) { recorder in
            _ = try await connection.rpc("erlang", "node")
            let stopped = ContinuousClock.now
            kill(fixture.node.pid, SIGSTOP)
            let down = try #require(await recorder.nodedown(within: .seconds(10)))
            #expect(down.reason == .tickTimeout(tickTimeout))
            let elapsed = down.at - stopped
            #expect(elapsed <= tickTimeout + .milliseconds(250), "nodedown after \(elapsed)")
            #expect(elapsed >= tickTimeout - .milliseconds(600), "nodedown already after \(elapsed)")
            kill(fixture.node.pid, SIGCONT)
        }
    }

    @Test("an idle healthy node outlives a tick timeout shorter than its own")
    func idleNodeStaysUp() async throws {
        let fixture = try await ErlangNodeFixture("idle")
        defer { fixture.stop() }
        let connection = try await fixture.connect(tickTimeout: .seconds(1))
        try await running(connection) { recorder in
            // The node ticks only every 15 s (net_ticktime 60 s); our probes keep it talking.
            try await Task.sleep(for: .milliseconds(3500))
            #expect(await recorder.events.isEmpty)
            #expect(connection.downReason == nil)
            let node = try await connection.rpc("erlang", "node")
            #expect(node == .atom(fixture.nodeName.atom))
        }
    }

    @Test("close() ends events with nodedown(closedLocally) and fails pending calls")
    func closeLocally() async throws {
        let fixture = try await ErlangNodeFixture("close")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        let recorder = EventRecorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await connection.run() }
            group.addTask { for await event in connection.events { await recorder.record(event) } }
            let pending = Task { try await connection.rpc("timer", "sleep", [5000]) }
            try await Task.sleep(for: .milliseconds(100))
            await connection.close()
            let error = await #expect(throws: DistributionError.self) { try await pending.value }
            #expect(error?.code == .nodeDown)
            try await group.waitForAll()
        }
        let events = await recorder.events.map(\.event)
        #expect(events == [.nodedown(.closedLocally)])
    }

    @Test("cancelling the task that runs the connection closes it")
    func cancelRun() async throws {
        let fixture = try await ErlangNodeFixture("cancel")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        let runner = Task { await connection.run() }
        _ = try await connection.rpc("erlang", "node")
        runner.cancel()
        await runner.value
        #expect(connection.downReason == .closedLocally)
        var iterator = connection.events.makeAsyncIterator()
        #expect(await iterator.next() == .nodedown(.closedLocally))
        #expect(await iterator.next() == nil)
    }
}
