import Synchronization

/// Bounds how many session channels (exec, SFTP) one connection has open at once.
///
/// OpenSSH refuses a connection's session channels beyond its `MaxSessions` (10 unless the host says
/// otherwise), and a host with many releases asks for more than that at once when they all deploy or start
/// together. Callers beyond the bound wait here, in arrival order, instead of failing on the host.
/// Forwarded (direct-tcpip) channels are not sessions and are not counted.
final class SessionSlots: Sendable {
    /// Below OpenSSH's default `MaxSessions` of 10, so an operator's multiplexed session still fits.
    static let defaultCount = 8

    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var firstWaiter = 0
    }

    private let state: Locked<State>

    init(count: Int = SessionSlots.defaultCount) {
        state = Locked(State(free: count))
    }

    /// Runs `body` while holding one slot, waiting for one first when all are taken.
    func withSlot<T>(_ body: () async -> T) async -> T {
        await acquire()
        defer { release() }
        return await body()
    }

    private func acquire() async {
        let granted = state.withLock { state in
            guard state.free > 0 else { return false }
            state.free -= 1
            return true
        }
        if granted { return }
        await withCheckedContinuation { continuation in
            let grantedNow = state.withLock { state in
                // A slot may have come free between the two locks.
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if grantedNow { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.firstWaiter < state.waiters.count else {
                state.free += 1
                return nil
            }
            // The slot passes straight to the longest waiter.
            let waiter = state.waiters[state.firstWaiter]
            state.firstWaiter += 1
            if state.firstWaiter == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.firstWaiter = 0
            }
            return waiter
        }
        next?.resume()
    }
}
