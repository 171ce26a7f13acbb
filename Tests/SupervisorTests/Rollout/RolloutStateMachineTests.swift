import Testing

@testable import ReleaseSupervisor

@Suite("Rollout state machine")
struct RolloutStateMachineTests {
    private let old = ReleaseVersion("1.0.0")!
    private let new = ReleaseVersion("2.0.0")!

    private func steps(_ count: Int, from: ReleaseVersion? = ReleaseVersion("1.0.0")) -> [HostStep] {
        (1...count).map { HostStep(host: "h\($0)", position: $0, from: from, to: new) }
    }

    private func policy(_ change: (inout UpdatePolicy) -> Void = { _ in }) -> UpdatePolicy {
        var policy = UpdatePolicy()
        change(&policy)
        return policy
    }

    /// Stages every host the machine asks for, then returns the first update actions.
    private func stageAll(_ machine: inout RolloutStateMachine) -> [RolloutStateMachine.Action] {
        var actions = machine.start()
        var updates: [RolloutStateMachine.Action] = []
        while let action = actions.first {
            actions.removeFirst()
            if case .stage(let host) = action { actions += machine.handle(.staged(host)) } else { updates.append(action) }
        }
        return updates
    }

    @Test("staging: at most 8 hosts at once, every host before any is changed")
    func staging() {
        var machine = RolloutStateMachine(steps: steps(10), policy: policy(), idle: [])
        let first = machine.start()
        #expect(first == (1...8).map { .stage("h\($0)") })
        #expect(machine.phase == .staging)
        #expect(machine.handle(.staged("h1")) == [.stage("h9")])
        #expect(machine.handle(.staged("h2")) == [.stage("h10")])
        for host in 3...9 { #expect(machine.handle(.staged("h\(host)")) == []) }
        #expect(machine.handle(.staged("h10")) == [.update("h1")])
        #expect(machine.phase == .updating)
    }

    @Test("a staging failure fails the rollout before anything stops, after the stages in flight end")
    func stagingFailure() {
        var machine = RolloutStateMachine(steps: steps(3), policy: policy(), idle: [])
        #expect(machine.start().count == 3)
        #expect(machine.handle(.stageFailed("h2", reason: "disk full")) == [])
        #expect(machine.handle(.staged("h1")) == [])
        #expect(machine.handle(.staged("h3")) == [.finish(.failed)])
        #expect(machine.result == .failed)
        #expect(machine.error?.contains("disk full") == true)
        #expect(machine.steps.map(\.outcome) == [.skipped, .failed, .skipped])
    }

    @Test("max_parallel 1: one host at a time, in order, then succeeded")
    func oneAtATime() {
        var machine = RolloutStateMachine(steps: steps(3), policy: policy(), idle: [])
        #expect(stageAll(&machine) == [.update("h1")])
        #expect(machine.handle(.updated("h1")) == [.update("h2")])
        #expect(machine.handle(.updated("h2")) == [.update("h3")])
        #expect(machine.handle(.updated("h3")) == [.finish(.succeeded)])
        #expect(machine.steps.allSatisfy { $0.outcome == .updated })
    }

    @Test("max_parallel 2: never more than two running hosts down; idle hosts do not count")
    func parallel() {
        var machine = RolloutStateMachine(
            steps: steps(5), policy: policy { $0.maxParallel = 2; $0.stage = false }, idle: ["h4"])
        #expect(machine.start() == [.update("h1"), .update("h2"), .update("h4")])
        #expect(machine.handle(.updated("h4")) == [])
        #expect(machine.handle(.updated("h1")) == [.update("h3")])
        #expect(machine.handle(.updated("h2")) == [.update("h5")])
        #expect(machine.handle(.updated("h3")) == [])
        #expect(machine.handle(.updated("h5")) == [.finish(.succeeded)])
    }

    @Test("hosts already on the version are left alone")
    func unchanged() {
        var list = steps(3)
        list[0].outcome = .unchanged
        var machine = RolloutStateMachine(steps: list, policy: policy { $0.stage = false }, idle: [])
        #expect(machine.start() == [.update("h2")])
        #expect(machine.handle(.updated("h2")) == [.update("h3")])
        #expect(machine.handle(.updated("h3")) == [.finish(.succeeded)])
        #expect(machine.steps[0].outcome == .unchanged)
    }

    @Test("a node that dies within min_healthy_time: quarantine, stop, revert the changed host, the rest untouched")
    func failureReverts() {
        var machine = RolloutStateMachine(steps: steps(4), policy: policy { $0.stage = false }, idle: [])
        #expect(machine.start() == [.update("h1")])
        let actions = machine.handle(.updateFailed("h1", reason: "the node exited after 3 s", versionAtFault: true))
        #expect(actions == [.quarantine("h1", reason: "h1: the node exited after 3 s"), .revert("h1", to: old)])
        #expect(machine.phase == .reverting)
        #expect(machine.handle(.reverted("h1")) == [.finish(.reverted)])
        #expect(machine.steps.map(\.outcome) == [.reverted, .skipped, .skipped, .skipped])
        #expect(machine.error == "h1: the node exited after 3 s")
    }

    @Test("a failure waits for the hosts in flight, then reverts every changed host; a host problem is not quarantined")
    func failureInFlight() {
        var machine = RolloutStateMachine(
            steps: steps(4), policy: policy { $0.maxParallel = 2; $0.stage = false }, idle: [])
        #expect(machine.start() == [.update("h1"), .update("h2")])
        #expect(machine.handle(.updated("h1")) == [.update("h3")])
        #expect(machine.handle(.updateFailed("h2", reason: "cannot reach the host", versionAtFault: false)) == [])
        #expect(machine.handle(.updated("h3")) == [.revert("h1", to: old), .revert("h2", to: old)])
        #expect(machine.handle(.reverted("h1")) == [.revert("h3", to: old)])
        #expect(machine.handle(.revertFailed("h2", reason: "still unreachable")) == [])
        #expect(machine.handle(.reverted("h3")) == [.finish(.failed)])
        #expect(machine.steps.map(\.outcome) == [.reverted, .revertFailed, .reverted, .skipped])
    }

    @Test("auto_revert off: the failed host is left as it is and the rollout fails")
    func noRevert() {
        var machine = RolloutStateMachine(steps: steps(2), policy: policy { $0.autoRevert = false; $0.stage = false }, idle: [])
        _ = machine.start()
        let actions = machine.handle(.updateFailed("h1", reason: "unhealthy", versionAtFault: true))
        #expect(actions == [.quarantine("h1", reason: "h1: unhealthy"), .finish(.failed)])
        #expect(machine.steps.map(\.outcome) == [.failed, .skipped])
    }

    @Test("a host with nothing before is put back by stopping it")
    func revertToNothing() {
        var machine = RolloutStateMachine(steps: steps(1, from: nil), policy: policy { $0.stage = false }, idle: ["h1"])
        _ = machine.start()
        let actions = machine.handle(.updateFailed("h1", reason: "crashed at boot", versionAtFault: true))
        #expect(actions.last == .revert("h1", to: nil))
    }

    @Test("canary 1: waits for promotion; promote finishes it")
    func canaryPromote() {
        var machine = RolloutStateMachine(steps: steps(3), policy: policy { $0.canary = 1; $0.stage = false }, idle: [])
        #expect(machine.start() == [.update("h1")])
        #expect(machine.handle(.updated("h1")) == [.awaitPromotion])
        #expect(machine.phase == .awaitingPromotion)
        #expect(machine.canPromote)
        #expect(machine.handle(.promote) == [.update("h2")])
        #expect(machine.handle(.updated("h2")) == [.update("h3")])
        #expect(machine.handle(.updated("h3")) == [.finish(.succeeded)])
    }

    @Test("canary 1: abort reverts the canary and ends aborted")
    func canaryAbort() {
        var machine = RolloutStateMachine(steps: steps(3), policy: policy { $0.canary = 1; $0.stage = false }, idle: [])
        _ = machine.start()
        _ = machine.handle(.updated("h1"))
        #expect(machine.handle(.abort) == [.revert("h1", to: old)])
        #expect(machine.handle(.reverted("h1")) == [.finish(.aborted)])
        #expect(machine.steps.map(\.outcome) == [.reverted, .skipped, .skipped])
    }

    @Test("canary with auto_promote goes on once the canaries are healthy")
    func autoPromote() {
        var machine = RolloutStateMachine(
            steps: steps(2), policy: policy { $0.canary = 1; $0.autoPromote = true; $0.stage = false }, idle: [])
        #expect(machine.start() == [.update("h1")])
        #expect(machine.handle(.updated("h1")) == [.update("h2")])
    }

    @Test("interrupt: the host in flight finishes, nothing new starts, then interrupted")
    func interrupt() {
        var machine = RolloutStateMachine(steps: steps(3), policy: policy { $0.stage = false }, idle: [])
        _ = machine.start()
        #expect(machine.handle(.interrupt) == [])
        #expect(machine.handle(.updated("h1")) == [.finish(.interrupted)])
        #expect(machine.steps.map(\.outcome) == [.updated, .pending, .pending])
    }

    @Test("resumed after a restart in each phase: done hosts are not touched again, the host in flight first")
    func resume() {
        let stagedPolicy = policy()
        // Staging: the staged host is not staged again.
        var list = steps(3)
        list[0].outcome = .staged
        var machine = RolloutStateMachine(resuming: list, checkpoint: "staging", error: nil, policy: stagedPolicy, idle: [])
        #expect(machine.start() == [.stage("h2"), .stage("h3")])

        // Updating: h1 done, h2 in flight when the daemon died, h3 pending.
        list = steps(3)
        list[0].outcome = .updated
        list[1].outcome = .updating
        machine = RolloutStateMachine(resuming: list, checkpoint: "updating", error: nil, policy: stagedPolicy, idle: [])
        #expect(machine.start() == [.update("h2")])
        #expect(machine.handle(.updated("h2")) == [.update("h3")])

        // Awaiting promotion: waits again; promote goes on past the canary.
        list = steps(2)
        list[0].outcome = .updated
        let canary = policy { $0.canary = 1 }
        machine = RolloutStateMachine(resuming: list, checkpoint: "awaiting_promotion", error: nil, policy: canary, idle: [])
        #expect(machine.start() == [.awaitPromotion])
        #expect(machine.handle(.promote) == [.update("h2")])

        // Promoted before the restart: no second wait.
        machine = RolloutStateMachine(
            resuming: list, checkpoint: "updating promoted", error: nil, policy: canary, idle: [])
        #expect(machine.start() == [.update("h2")])

        // Reverting: the host being put back, then the other changed one.
        list = steps(3)
        list[0].outcome = .reverting
        list[1].outcome = .failed
        machine = RolloutStateMachine(
            resuming: list, checkpoint: "reverting failed quarantined", error: "h2: unhealthy", policy: stagedPolicy,
            idle: [])
        #expect(machine.start() == [.revert("h1", to: old)])
        #expect(machine.handle(.reverted("h1")) == [.revert("h2", to: old)])
        #expect(machine.handle(.reverted("h2")) == [.finish(.reverted)])
        #expect(machine.error == "h2: unhealthy")
    }

    @Test("the checkpoint carries what the steps cannot say")
    func checkpoint() {
        var machine = RolloutStateMachine(steps: steps(2), policy: policy { $0.canary = 1; $0.stage = false }, idle: [])
        _ = machine.start()
        _ = machine.handle(.updated("h1"))
        #expect(machine.checkpoint == "awaiting_promotion")
        _ = machine.handle(.promote)
        #expect(machine.checkpoint == "updating promoted")
        _ = machine.handle(.updateFailed("h2", reason: "x", versionAtFault: true))
        #expect(machine.checkpoint == "reverting promoted failed quarantined")
    }

    @Test("update settings read back from their stored text")
    func storedPolicy() {
        let policy = policy {
            $0.maxParallel = 4; $0.canary = 2; $0.autoPromote = true; $0.minHealthyTime = .zero
            $0.healthyDeadline = .seconds(90); $0.autoRevert = false; $0.stage = false; $0.keepVersions = 5
        }
        #expect(UpdatePolicy(storedText: policy.storedText) == policy)
    }
}
