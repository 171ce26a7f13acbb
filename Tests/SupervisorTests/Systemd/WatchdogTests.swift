import Foundation
import Synchronization
import Testing

@testable import ReleaseSupervisor

/// Whether the fake supervisor answers, and how.
private enum Liveness: Sendable { case answering, failing, slow, stuck }

/// Stands in for the supervisor actor the daemon's liveness check asks.
private actor FakeSupervisor {
    var liveness: Liveness = .answering
    private var stuckCallers: [CheckedContinuation<Void, Never>] = []

    func set(_ liveness: Liveness) {
        self.liveness = liveness
        if liveness != .stuck {
            for caller in stuckCallers { caller.resume() }
            stuckCallers = []
        }
    }

    /// Answers the way `liveness` says; `.stuck` never answers (until set otherwise) and ignores cancellation.
    func ping() async -> Bool {
        switch liveness {
        case .answering: return true
        case .failing: return false
        case .slow:
            try? await Task.sleep(for: .milliseconds(400))
            return !Task.isCancelled
        case .stuck:
            await withCheckedContinuation { stuckCallers.append($0) }
            return true
        }
    }
}

/// The reasons `onMissedPing` reported (true: timed out).
private final class MissedPings: Sendable {
    private let recorded = Locked<[Bool]>([])
    var reasons: [Bool] { recorded.withLock { $0 } }
    func record(_ timedOut: Bool) { recorded.withLock { $0.append(timedOut) } }
}

extension SystemdNotifyTests {
    @Test("WATCHDOG_USEC and WATCHDOG_PID: on for this process, off for another, an error when malformed")
    func watchdogEnvironment() throws {
        defer { clearSystemdEnvironment() }
        clearSystemdEnvironment()
        #expect(try Watchdog.fromEnvironment() == nil)
        setenv("WATCHDOG_USEC", "400000", 1)
        #expect(try Watchdog.fromEnvironment()?.interval == .milliseconds(400))
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        #expect(try Watchdog.fromEnvironment()?.pingPeriod == .milliseconds(200))
        setenv("WATCHDOG_PID", "1", 1)
        #expect(try Watchdog.fromEnvironment() == nil, "WATCHDOG_PID names another process")
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        setenv("WATCHDOG_USEC", "soon", 1)
        #expect(throws: SystemdError.self) { try Watchdog.fromEnvironment() }
    }

    @Test("pings every half interval while the supervisor answers; none while it fails, is slow or is stuck")
    func watchdogPings() async throws {
        defer { clearSystemdEnvironment() }
        let socket = try NotifySocket()
        socket.install()
        setenv("WATCHDOG_USEC", "400000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        let watchdog = try #require(try Watchdog.fromEnvironment())
        let supervisor = FakeSupervisor()
        let missed = MissedPings()

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await watchdog.run(
                    isAlive: { await supervisor.ping() },
                    onMissedPing: { timedOut in missed.record(timedOut) })
            }

            let healthy = try await offload { socket.collect(for: .milliseconds(1200)) }
            #expect(healthy.allSatisfy { $0.message == "WATCHDOG=1" })
            #expect((5...7).contains(healthy.count), "expected a ping every 200 ms, got \(healthy.count) in 1.2 s")
            let gaps = zip(healthy.dropFirst(), healthy).map { $0.at - $1.at }
            #expect(gaps.allSatisfy { $0 > .milliseconds(120) && $0 < .milliseconds(300) }, "gaps: \(gaps)")

            for liveness in [Liveness.failing, .slow, .stuck] {
                await supervisor.set(liveness)
                // A check that began before the switch may still ping once; then nothing may arrive.
                try await Task.sleep(for: .milliseconds(250))
                socket.discardPending()
                let silent = try await offload { socket.collect(for: .milliseconds(700)) }
                #expect(silent.isEmpty, "\(liveness): \(silent.count) pings while the supervisor did not answer")
            }

            await supervisor.set(.answering)
            let resumed = try await offload { socket.collect(for: .milliseconds(700)) }
            #expect(resumed.count >= 2, "pings resume once the supervisor answers again")
            group.cancelAll()
        }
        let reasons = missed.reasons
        #expect(reasons.contains(false), "a failing check is reported as missed")
        #expect(reasons.contains(true), "a slow check is reported as timed out")
    }
}
