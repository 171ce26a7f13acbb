import Synchronization

/// The end of something on a connection, such as a pushed receive or the connection itself: fulfilled once
/// with the reason, awaited by one task.
final class EndSignal: Sendable {
    private let state = Locked<(reason: NodeDownReason?, waiter: CheckedContinuation<NodeDownReason, Never>?)>((nil, nil))

    var isFulfilled: Bool { state.withLock { $0.reason != nil } }

    /// Records `reason` unless one is recorded already, and wakes the waiter.
    func fulfill(_ reason: NodeDownReason) {
        let waiter = state.withLock { state -> CheckedContinuation<NodeDownReason, Never>? in
            guard state.reason == nil else { return nil }
            state.reason = reason
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: reason)
    }

    /// The reason, once there is one; `.closedLocally` when the waiting task is cancelled.
    func wait() async -> NodeDownReason {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<NodeDownReason, Never>) in
                let reason = state.withLock { state -> NodeDownReason? in
                    if state.reason == nil { state.waiter = continuation }
                    return state.reason
                }
                if let reason { continuation.resume(returning: reason) }
            }
        } onCancel: {
            fulfill(.closedLocally)
        }
    }
}
