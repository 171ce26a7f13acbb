import Synchronization

extension DistributionConnection {
    /// The name probes monitor. It is never registered, so the node answers each probe at once with
    /// a `noproc` exit, and that answer is the sign of life we wait for.
    static let probeTarget: Atom = "$controlnode_liveness_probe"

    /// Writes queued packets in order until the connection goes down; a batch goes out in one write.
    func sendLoop() async -> NodeDownReason? {
        while let batch = await outgoing.nextBatch() {
            do {
                try await stream.write(batch.count == 1 ? batch[0] : Array(batch.joined()))
            } catch is CancellationError {
                return .closedLocally
            } catch {
                return downReason == nil ? .connectionLost("\(error)") : nil
            }
            lastSent.store(MonotonicClock.nanoseconds(), ordering: .relaxed)
        }
        return nil
    }

    /// Ticks when we have been quiet, probes when the node has, and ends the connection when the node
    /// has been silent for the tick timeout.
    ///
    /// Erlang nodes tick only every quarter of their own `net_ticktime` (15 s by default), so with a
    /// shorter timeout of ours an idle healthy node would look dead; a probe makes it answer now. The probe
    /// goes out once 60 % of the timeout has passed in silence, at most once per such span, and the node's
    /// answer also stands in for its next tick. A tick goes out after the same span with nothing sent (a
    /// probe counts, so an idle connection carries one probe and its answer per span, and no ticks): the node
    /// needs one only within its own net_ticktime (60 s unless set).
    ///
    /// A daemon watches hundreds of releases, and every wake costs thread switches, so the wakes for probes
    /// and ticks fall on a grid shared by every connection (an eighth of the timeout, 1.9 s by default): the
    /// timers fire together, the probes leave together and their answers arrive together. A probe is then up
    /// to one grid step late, which still leaves the node a quarter of the timeout to answer. The deadline
    /// itself is not rounded.
    func livenessLoop() async -> NodeDownReason? {
        let timeout = configuration.tickTimeout.nanoseconds
        let probeAfter = max(timeout / 10 * 6, 1_000_000)
        let grid = max(timeout / 8, 1_000_000)
        var lastProbe: Int64 = 0
        while downReason == nil {
            let now = MonotonicClock.nanoseconds()
            let heard = lastReceived.load(ordering: .relaxed)
            if now - heard >= timeout { return .tickTimeout(configuration.tickTimeout) }
            var sent = lastSent.load(ordering: .relaxed)
            if now - heard >= probeAfter && now - lastProbe >= probeAfter {
                probe()
                lastProbe = now
                sent = now
            } else if now - sent >= probeAfter {
                _ = enqueue(ControlMessage.tick)
                sent = now
            }
            let deadline = heard + timeout
            let due = min(sent + probeAfter, max(heard, lastProbe) + probeAfter)
            let wake = due < deadline ? min((due / grid + 1) * grid, deadline) : deadline
            do {
                try await Task.sleep(for: .nanoseconds(max(wake - MonotonicClock.nanoseconds(), 1_000_000)))
            } catch {
                return .closedLocally
            }
        }
        return nil
    }

    private func probe() {
        let reference = makeReference()
        guard
            let packet = try? ControlMessage.packet(
                control: .tuple(19, .pid(pid), .atom(Self.probeTarget), .reference(reference)))
        else { return }
        state.withLock { state in
            // Answers that never come (the node is stuck) must not pile up.
            if state.probes.count >= 16 { state.probes.removeAll() }
            state.probes.insert(reference)
        }
        _ = enqueue(packet)
    }
}
