import Synchronization

/// The account of one connection's unsolicited messages: those held in `events` for a reader, within a
/// byte budget, and those dropped.
///
/// A node can send our process any number of messages nobody asked for, each up to the largest message
/// size; held without bound they would be the daemon's memory. Each held message counts the bytes it
/// arrived in until the reader takes it. The events stream hands messages out (or, when it buffers too
/// many events, drops them) oldest first, so the bytes are kept in that order and each message taken
/// releases the oldest entry.
final class UnsolicitedMessages: Sendable {
    /// What became of a message offered to `admit`.
    enum Admission: Equatable {
        /// It fits the budget: hand it to the reader.
        case held
        /// It does not: it is counted, and `report` says what to log, when it is time to.
        case dropped(report: DropReport?)
    }

    /// Drops to log: how many messages, and bytes, since the last report (or since the start).
    struct DropReport: Equatable {
        /// Whether this is the connection's first drop.
        let isFirst: Bool
        let messages: Int
        let bytes: Int
    }

    private struct State {
        /// The bytes of each held message, oldest first from `oldest`.
        var held: [Int] = []
        var oldest = 0
        var heldBytes = 0
        var dropped = 0
        var droppedBytes = 0
        var reportedDrops = 0
        var reportedBytes = 0
        var lastReport: Int64?
    }

    /// Drops are logged at once the first time, then at most this often (with the count since the last report),
    /// so a node that floods us costs a line a minute, not a line a message.
    static let reportInterval: Duration = .seconds(60)

    /// The most bytes held at once.
    let limit: Int
    private let state = Locked(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a message of `bytes` into the account if it fits the budget, or counts it as dropped.
    func admit(_ bytes: Int, now: Int64 = MonotonicClock.nanoseconds()) -> Admission {
        state.withLock { state in
            if state.heldBytes + bytes <= limit {
                state.held.append(bytes)
                state.heldBytes += bytes
                return .held
            }
            state.dropped += 1
            state.droppedBytes += bytes
            return .dropped(report: Self.report(&state, now: now, force: false))
        }
    }

    /// Counts a message that was dropped without asking for room (a reply nobody waits for any more, a send
    /// to a name we do not have); says, when it is time, what to log.
    func dropped(_ bytes: Int, now: Int64 = MonotonicClock.nanoseconds()) -> DropReport? {
        state.withLock { state in
            state.dropped += 1
            state.droppedBytes += bytes
            return Self.report(&state, now: now, force: false)
        }
    }

    /// The drops not reported yet, for the connection's last line; nil if there are none.
    func finalReport() -> DropReport? {
        state.withLock { Self.report(&$0, now: MonotonicClock.nanoseconds(), force: true) }
    }

    /// Releases the oldest held message: the reader took it, or the events stream dropped it.
    func release() {
        state.withLock { state in
            guard state.oldest < state.held.count else { return }
            state.heldBytes -= state.held[state.oldest]
            state.oldest += 1
            if state.oldest == state.held.count || state.oldest >= 1024 {
                state.held.removeFirst(state.oldest)
                state.oldest = 0
            }
        }
    }

    /// The bytes of the messages held now.
    var heldBytes: Int { state.withLock { $0.heldBytes } }

    /// How many messages were dropped, and their bytes, since the connection began.
    var drops: (messages: Int, bytes: Int) { state.withLock { ($0.dropped, $0.droppedBytes) } }

    private static func report(_ state: inout State, now: Int64, force: Bool) -> DropReport? {
        let messages = state.dropped - state.reportedDrops
        guard messages > 0 else { return nil }
        let isFirst = state.lastReport == nil
        if !isFirst && !force, let last = state.lastReport, now - last < reportInterval.nanoseconds { return nil }
        defer {
            state.lastReport = now
            state.reportedDrops = state.dropped
            state.reportedBytes = state.droppedBytes
        }
        return DropReport(isFirst: isFirst, messages: messages, bytes: state.droppedBytes - state.reportedBytes)
    }
}
