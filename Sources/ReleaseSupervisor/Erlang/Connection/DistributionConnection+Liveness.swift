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
    /// shorter timeout of ours an idle healthy node would look dead; a probe makes it answer now.
    /// Wakes at most every quarter of the timeout, and exactly at the deadline: no busy polling.
    func livenessLoop() async -> NodeDownReason? {
        let timeout = configuration.tickTimeout.nanoseconds
        let interval = max(timeout / 4, 1_000_000)
        var lastProbe: Int64 = 0
        while downReason == nil {
            let now = MonotonicClock.nanoseconds()
            let heard = lastReceived.load(ordering: .relaxed)
            if now - heard >= timeout { return .tickTimeout(configuration.tickTimeout) }
            if now - heard >= interval {
                if now - lastProbe >= interval {
                    probe()
                    lastProbe = now
                }
            } else if now - lastSent.load(ordering: .relaxed) >= interval {
                _ = enqueue(ControlMessage.tick)
            }
            let wake = min(now + interval, heard + timeout)
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
