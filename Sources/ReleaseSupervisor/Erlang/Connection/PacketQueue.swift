import Synchronization

/// The outgoing packets of a connection, in order, with a fast path that skips the writer task.
///
/// When nothing is queued and the writer is idle, `submit` hands the packet to the stream at once if
/// the stream can take it without waiting (`ImmediateWritableStream`); otherwise, or for what did not
/// fit, the packet waits for the writer task, which takes everything queued in one batch. Packets
/// never overtake each other: the fast path is used only while no earlier packet is pending.
///
/// The queue holds at most `limit` bytes (those waiting plus the batch the writer is writing): a node
/// that stops reading would otherwise make it grow with every reply we owe it, so a packet that would
/// take it past the limit is refused with `.overflowed`, and the connection ends. A packet larger than
/// the limit is still taken when nothing else is queued, so one big send is not refused for its size.
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
        /// Queueing the packet would pass the limit: the node is not reading. Holds the bytes already queued.
        case overflowed(queued: Int)
    }

    private struct State {
        var packets: [[UInt8]] = []
        /// The bytes in `packets`.
        var waitingBytes = 0
        /// The bytes of the batch the writer task took last; it holds them until it asks for the next.
        var writingBytes = 0
        var writerBusy = false
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?

        var queuedBytes: Int { waitingBytes + writingBytes }
    }

    private let state = Locked(State())
    private let immediate: (any ImmediateWritableStream)?
    /// The most bytes the queue holds; see the type's documentation.
    let limit: Int

    init(stream: any ByteStream, limit: Int) {
        immediate = stream as? any ImmediateWritableStream
        self.limit = limit
    }

    /// The bytes queued and not yet taken by the stream, including the batch being written.
    var queuedBytes: Int { state.withLock { $0.queuedBytes } }

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
            if state.queuedBytes > 0 && state.queuedBytes + rest.count > limit {
                return (.overflowed(queued: state.queuedBytes), nil)
            }
            state.packets.append(Array(rest))
            state.waitingBytes += rest.count
            defer { state.waiter = nil }
            return (.queued, state.waiter)
        }
        waiter?.resume()
        return submission
    }

    /// The writer task's next batch, waiting for one; nil once the queue is closed or the task cancelled.
    ///
    /// Asking for the next batch says the previous one was written: its bytes stop counting.
    func nextBatch() async -> [[UInt8]]? {
        while true {
            let batch = state.withLock { state -> [[UInt8]]? in
                state.writingBytes = 0
                guard !state.packets.isEmpty else {
                    state.writerBusy = false
                    return nil
                }
                state.writerBusy = true
                state.writingBytes = state.waitingBytes
                state.waitingBytes = 0
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
            state.waitingBytes = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
