import Testing

@testable import ReleaseSupervisor

/// Runs one mutating call of the machine (inside `#expect`, which cannot take a mutating call itself).
private func step<T>(_ machine: inout ReleaseStateMachine, _ call: (inout ReleaseStateMachine) -> T) -> T {
    call(&machine)
}

@Suite("Release actor state machine")
struct ReleaseStateMachineTests {
    /// A machine that has initialised connected to its node.
    private func attached() -> ReleaseStateMachine {
        var machine = ReleaseStateMachine()
        #expect(step(&machine) { $0.recheck() })
        machine.settled(.attached)
        return machine
    }

    @Test("starts attaching; a reconcile leaves it attached or detached; a detached one is rechecked")
    func attaching() {
        var machine = ReleaseStateMachine()
        #expect(machine.phase == .attaching)
        machine.settled(.detached)
        #expect(machine.phase == .detached)
        #expect(step(&machine) { $0.recheck() })
        #expect(machine.phase == .attaching)
        machine.settled(.attached)
        #expect(machine.phase == .attached)
        #expect(!step(&machine) { $0.recheck() }, "an attached release waits for its node to go down instead")
        #expect(machine.checksHealth)
    }

    @Test("one request at a time: another gets busy with what runs; the end says where it left the release")
    func requests() {
        var machine = attached()
        #expect(step(&machine) { $0.begin("a deploy of 0.2.0") } == nil)
        #expect(machine.isBusy && !machine.checksHealth)
        #expect(step(&machine) { $0.begin("a stop") } == "a deploy of 0.2.0")
        #expect(!step(&machine) { $0.recheck() })
        #expect(step(&machine) { $0.end(.attached) } == nil)
        #expect(machine.phase == .attached)
    }

    @Test("a node going down while attached means recovering; while busy, the request owns it, then recovery follows")
    func nodeDown() {
        var machine = attached()
        #expect(step(&machine) { $0.nodeDown(.closedByPeer) })
        #expect(machine.phase == .recovering)
        #expect(!step(&machine) { $0.nodeDown(.closedByPeer) }, "one recovery at a time")
        #expect(!step(&machine) { $0.recheck() } && !machine.checksHealth)
        machine.settled(.attached)

        #expect(step(&machine) { $0.begin("a restart") } == nil)
        #expect(!step(&machine) { $0.nodeDown(.tickTimeout(.seconds(15))) })
        #expect(step(&machine) { $0.end(.attached) } == .tickTimeout(.seconds(15)), "the request left a node that then went down")
        #expect(machine.phase == .recovering)
        machine.settled(.detached)

        // A request that leaves nothing connected has nothing to recover.
        #expect(step(&machine) { $0.begin("a stop") } == nil)
        _ = machine.nodeDown(.closedByPeer)
        #expect(step(&machine) { $0.end(.stoppedByOperator) } == nil)
    }

    @Test("stopped by an operator: rechecked (a release started by hand is connected to) but never started; start clears it")
    func stoppedByOperator() {
        var machine = attached()
        _ = machine.begin("a stop")
        _ = machine.end(.stoppedByOperator)
        #expect(machine.phase == .stoppedByOperator && !machine.mayStart)
        #expect(step(&machine) { $0.recheck() })
        machine.settled(.detached)
        #expect(machine.phase == .stoppedByOperator, "nothing found: still stopped")
        #expect(step(&machine) { $0.recheck() })
        machine.settled(.attached)
        #expect(machine.phase == .attached && machine.mayStart)
        _ = machine.begin("a stop")
        _ = machine.end(.stoppedByOperator)
        #expect(step(&machine) { $0.begin("a start") } == nil)
        _ = machine.end(.attached)
        #expect(machine.mayStart)
    }

    @Test("failed (restart budget spent, or a rollout step): no recheck, no start, until a request")
    func failed() {
        var machine = attached()
        _ = machine.nodeDown(.closedByPeer)
        machine.settled(.failed("restart budget spent"))
        #expect(machine.phase == .failed("restart budget spent"))
        #expect(!step(&machine) { $0.recheck() } && !machine.mayStart && !step(&machine) { $0.nodeDown(.closedByPeer) })
        #expect(step(&machine) { $0.begin("a rollout to 0.1.0") } == nil)
        _ = machine.end(.failed("rollout: version 0.3.0 went down after 0.4 s of 2 s healthy"))
        #expect(!machine.mayStart)
        #expect(step(&machine) { $0.begin("a rollout's revert") } == nil)
        _ = machine.end(.attached)
        #expect(machine.phase == .attached)
    }

    @Test("a reconcile that ends after a request began leaves the request's outcome alone")
    func reconcileOverlap() {
        var machine = ReleaseStateMachine()
        _ = machine.recheck()
        #expect(step(&machine) { $0.begin("a deploy of 0.2.0") } == nil)
        machine.settled(.detached)
        #expect(machine.isBusy)
    }

    @Test("health: the action after `threshold` failures in a row; a success starts the count again; only attached")
    func health() {
        var machine = attached()
        #expect(!step(&machine) { $0.health(false, threshold: 3) })
        #expect(!step(&machine) { $0.health(false, threshold: 3) })
        #expect(!step(&machine) { $0.health(true, threshold: 3) })
        #expect(!step(&machine) { $0.health(false, threshold: 3) })
        #expect(!step(&machine) { $0.health(false, threshold: 3) })
        #expect(step(&machine) { $0.health(false, threshold: 3) })
        #expect(!step(&machine) { $0.health(false, threshold: 3) }, "counted again from zero")
        _ = machine.begin("a restart")
        #expect(!step(&machine) { $0.health(false, threshold: 1) }, "a request owns the release meanwhile")
    }
}
