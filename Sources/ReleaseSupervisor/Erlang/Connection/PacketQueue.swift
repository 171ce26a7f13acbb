import Synchronization

/// The outgoing packets of a connection, in order, with a fast path that skips the writer task.
///
/// When nothing is queued and the writer is idle, `submit` hands the packet to the stream at once if
/// the stream can take it without waiting (`ImmediateWritableStream`); otherwise, or for what did not
/// fit, the packet waits for the writer task, which takes everything queued in one batch. Packets
/// never overtake each other: the fast path is used only while no earlier packet is pending.
final class PacketQueue: Sendable {
    /// What became of a submitted packet.
    enum Submission {
        /// The stream took the whole packet.
        case written
        /// The writer task will write it (or the rest of it).
        case queued
        /// The queue is closed: the connection is down.
        case closed
        /// The stream failed while taking the packet.
        case failed(any Error)
    }

    private struct State {
        var packets: [[UInt8]] = []
        var writerBusy = false
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let immediate: (any ImmediateWritableStream)?

    init(stream: any ByteStream) {
        immediate = stream as? any ImmediateWritableStream
    }

    /// Writes `packet` now if possible, or queues it for the writer task.
    func submit(_ packet: [UInt8]) -> Submission {
        let (submission, waiter) = state.withLock { state -> (Submission, CheckedContinuation<Void, Never>?) in
            if state.closed { return (.closed, nil) }
            var rest = packet[...]
            if state.packets.isEmpty, !state.writerBusy, let immediate {
                // A non-blocking send under the lock: it is short, and it keeps the order of packets.
                do {
                    let taken = try immediate.writeImmediately(packet)
                    if taken == packet.count { return (.written, nil) }
                    rest = packet[taken...]
                } catch {
                    return (.failed(error), nil)
                }
            }
            state.packets.append(Array(rest))
            defer { state.waiter = nil }
            return (.queued, state.waiter)
        }
        waiter?.resume()
        return submission
    }

    /// The writer task's next batch, waiting for one; nil once the queue is closed or the task cancelled.
    func nextBatch() async -> [[UInt8]]? {
        while true {
            let batch = state.withLock { state -> [[UInt8]]? in
                guard !state.packets.isEmpty else {
                    state.writerBusy = false
                    return nil
                }
                state.writerBusy = true
                defer { state.packets.removeAll() }
                return state.packets
            }
            if let batch { return batch }
            if Task.isCancelled || state.withLock({ $0.closed }) { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let wake = state.withLock { state -> Bool in
                        if !state.packets.isEmpty || state.closed || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if wake { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
    }

    /// Closes the queue: later submissions fail, and the writer task's wait ends.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            state.packets.removeAll()
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
