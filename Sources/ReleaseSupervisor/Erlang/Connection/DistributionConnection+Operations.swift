import CoreMetrics
import Synchronization

extension DistributionConnection {
    /// Calls `module:function(arguments...)` on the node through its `rex` server, like `rpc:call/5`.
    ///
    /// Any number of calls may be in flight at once; replies are matched by reference. Output the
    /// function writes to its group leader is accepted and discarded.
    /// - Returns: the function's return value.
    /// - Throws: `DistributionError` with code `.badRPC` (and the reason in `reason`) when the call
    ///   failed on the node, `.rpcTimedOut`, `.nodeDown`, `.cancelled` or `.encodingFailed`.
    public func rpc(
        _ module: Atom, _ function: Atom, _ arguments: [Term] = [], timeout: Duration = .seconds(30)
    ) async throws(DistributionError) -> Term {
        let reference = makeReference()
        let me = Term.pid(pid)
        let request: Term = .tuple(
            "$gen_call", .tuple(me, .reference(reference)),
            .tuple("call", .atom(module), .atom(function), .list(arguments), me))
        let packet = try encode(control: .tuple(6, me, "", "rex"), payload: request)
        let count = arguments.count
        let what: @Sendable () -> String = { "\(module):\(function)/\(count)" }
        let started = ContinuousClock.now
        defer { Self.rpcDuration.recordInterval(since: started) }
        let reply = try await call(reference, packet: packet, timeout: timeout, what: what)
        if case .tuple(let elements) = reply, elements.count == 2, elements[0] == "badrpc" {
            throw DistributionError(.badRPC, node: peer.description, what(), reason: elements[1])
        }
        return reply
    }

    /// How long each call took, answered or not (`controlnode_rpc_duration_seconds` when metrics are served).
    static let rpcDuration = Timer(label: "controlnode_rpc_duration_seconds")

    /// Sends `message` to the process registered as `name` on the node (`{Name, Node} ! Message`).
    ///
    /// - Throws: `DistributionError` with code `.nodeDown` or `.encodingFailed`.
    public func send(to name: Atom, _ message: Term) throws(DistributionError) {
        try enqueueOrThrow(try encode(control: .tuple(6, .pid(pid), "", .atom(name)), payload: message))
    }

    /// Sends `message` to the process `process` on the node (`Pid ! Message`).
    ///
    /// - Throws: `DistributionError` with code `.nodeDown` or `.encodingFailed`.
    public func send(to process: Pid, _ message: Term) throws(DistributionError) {
        try enqueueOrThrow(try encode(control: sendControl(to: process), payload: message))
    }

    /// Monitors the process `process`; a `.processDown` event with the returned reference follows its exit.
    ///
    /// A process that does not exist gives a `.processDown` with reason `noproc` at once.
    /// - Throws: `DistributionError` with code `.nodeDown`.
    @discardableResult
    public func monitor(_ process: Pid) throws(DistributionError) -> Reference {
        try monitor(target: .pid(process))
    }

    /// Monitors the process registered as `name` on the node, as `erlang:monitor(process, {Name, Node})`.
    ///
    /// - Throws: `DistributionError` with code `.nodeDown`.
    @discardableResult
    public func monitor(registeredName name: Atom) throws(DistributionError) -> Reference {
        try monitor(target: .atom(name))
    }

    /// Stops a monitor; no `.processDown` event follows for it. Unknown references are ignored.
    ///
    /// - Throws: `DistributionError` with code `.nodeDown`.
    public func demonitor(_ reference: Reference) throws(DistributionError) {
        guard let target = state.withLock({ $0.monitors.removeValue(forKey: reference) }) else { return }
        try enqueueOrThrow(try encode(control: .tuple(20, .pid(pid), target, .reference(reference))))
    }

    private func monitor(target: Term) throws(DistributionError) -> Reference {
        let reference = makeReference()
        let packet = try encode(control: .tuple(19, .pid(pid), target, .reference(reference)))
        state.withLock { $0.monitors[reference] = target }
        do {
            try enqueueOrThrow(packet)
        } catch {
            _ = state.withLock { $0.monitors.removeValue(forKey: reference) }
            throw error
        }
        return reference
    }

    /// The control tuple for a message to `process`: SEND_SENDER when the node takes it, else SEND.
    func sendControl(to process: Pid) -> Term {
        peerFlags.contains(.sendSender) ? .tuple(22, .pid(pid), .pid(process)) : .tuple(2, "", .pid(process))
    }

    func encode(control: Term, payload: Term? = nil) throws(DistributionError) -> [UInt8] {
        do {
            return try ControlMessage.packet(control: control, payload: payload)
        } catch {
            throw DistributionError(.encodingFailed, node: peer.description, error.description)
        }
    }

    func enqueueOrThrow(_ packet: [UInt8]) throws(DistributionError) {
        guard enqueue(packet) else { throw nodeDownError() }
    }

    /// Sends a request and waits for the reply that carries `reference`, or the timeout.
    ///
    /// The timeout is a timer on the transport's event thread rather than a task per call: arming and
    /// cancelling it costs no thread switch, which matters on a round trip of tens of microseconds.
    private func call(
        _ reference: Reference, packet: [UInt8], timeout: Duration, what: @escaping @Sendable () -> String
    ) async throws(DistributionError) -> Term {
        let timer = Locked<UInt64?>(nil)
        defer { if let armed = timer.withLock({ $0 }) { ReadinessMonitor.shared.cancelTimer(armed) } }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Term, any Error>) in
                    let refusal: (any Error)? = state.withLock { state in
                        if let reason = state.downReason { return nodeDownError(reason) }
                        if Task.isCancelled { return CancellationError() }
                        state.calls[reference] = continuation
                        return nil
                    }
                    if let refusal {
                        continuation.resume(throwing: refusal)
                        return
                    }
                    let armed = ReadinessMonitor.shared.schedule(after: timeout) { [self] in
                        resolveCall(
                            reference,
                            with: .failure(
                                DistributionError(
                                    .rpcTimedOut, node: peer.description,
                                    "no reply to \(what()) within \(timeout); the node may be overloaded")))
                    }
                    timer.withLock { $0 = armed }
                    if !enqueue(packet) { resolveCall(reference, with: .failure(nodeDownError())) }
                }
            } onCancel: {
                self.resolveCall(reference, with: .failure(CancellationError()))
            }
        } catch let error as DistributionError {
            throw error
        } catch {
            throw DistributionError(.cancelled, node: peer.description, "\(what()) was cancelled")
        }
    }

    /// Completes the pending call `reference`, if it is still pending.
    func resolveCall(_ reference: Reference, with result: Result<Term, any Error>) {
        let continuation = state.withLock { $0.calls.removeValue(forKey: reference) }
        continuation?.resume(with: result)
    }
}
