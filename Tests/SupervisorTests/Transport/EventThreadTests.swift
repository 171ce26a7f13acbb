import Foundation
import Synchronization
import Testing

@testable import ReleaseSupervisor

@Suite("Event thread: pushed reads, timers, executor")
struct EventThreadTests {
    @Test("pushed reads deliver every byte in order, then one end when the peer closes")
    func pushedReads() async throws {
        let (client, server) = try await connectedTCPPair()
        let received = Locked<(bytes: [UInt8], ends: Int)>(([], 0))
        server.pushReads { read in
            received.withLock { state in
                switch read {
                case .bytes(let bytes): state.bytes += bytes
                case .end: state.ends += 1
                case .failed: state.ends += 100
                }
            }
        }
        let payload = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try await client.write(payload)
        await client.close()
        #expect(await eventually { received.withLock { $0.ends } == 1 })
        #expect(received.withLock { $0.bytes } == payload)
        await server.close()
        #expect(received.withLock { $0.ends } == 1)
    }

    @Test("closing a pushing stream locally delivers the end")
    func localCloseEnds() async throws {
        let (client, server) = try await connectedTCPPair()
        let ends = Atomic<Int>(0)
        client.pushReads { read in
            if case .end = read { ends.add(1, ordering: .relaxed) }
        }
        await client.close()
        #expect(ends.load(ordering: .relaxed) == 1)
        await server.close()
    }

    @Test("a timer fires after its delay; a cancelled one never does")
    func timers() async throws {
        let monitor = ReadinessMonitor.shared
        let fired = Recorder()
        let start = ContinuousClock.now
        let firedAt = Locked<ContinuousClock.Instant?>(nil)
        _ = monitor.schedule(after: .milliseconds(30)) {
            firedAt.withLock { $0 = .now }
            fired.add(1)
        }
        let cancelled = monitor.schedule(after: .milliseconds(10)) { fired.add(2) }
        monitor.cancelTimer(cancelled)
        #expect(await eventually { fired.values == [1] })
        let elapsed = try #require(firedAt.withLock { $0 }) - start
        #expect(elapsed >= .milliseconds(30))
        // Later than the one that fired: the cancelled timer had its chance and did not run.
        #expect(fired.values == [1])
    }

    @Test("a task that prefers the event thread runs on it and can await sockets there")
    func executor() async throws {
        let (client, server) = try await connectedTCPPair()
        let (echoed, ranOn) = try await withTaskExecutorPreference(EventThread.executor) {
            try await client.write(Array("ping".utf8))
            let request = try await server.read(upTo: 10)
            try await server.write(request)
            let reply = try await client.read(upTo: 10)
            return (reply, UInt(pthread_self()))
        }
        // Read once the thread has surely started: it records its id when its loop begins.
        let eventThread = ReadinessMonitor.shared.threadID.load(ordering: .acquiring)
        #expect(echoed == Array("ping".utf8))
        #expect(eventThread != 0 && ranOn == eventThread)
        await client.close()
        await server.close()
    }
}
