#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Where the writer thread delivers entries: journald in the daemon, a recorder in tests.
protocol JournalSink: Sendable {
    /// Delivers one entry, blocking as long as it must; returns 0 or a negative errno.
    func send(_ entry: JournalEntry) -> Int32
}

/// journald through `sd_journal_sendv` on `/run/systemd/journal/socket`.
struct SystemJournal: JournalSink {
    func send(_ entry: JournalEntry) -> Int32 { LibSystemd.journalSend(bytes: entry.bytes, ends: entry.ends) }
}

/// A bounded queue of journal entries drained by one thread it owns, so logging never waits for journald.
///
/// When journald stalls, the thread blocks in `sendmsg`, the queue fills and further entries are dropped
/// and counted; the next entry that gets through is preceded by one saying how many were lost. The thread
/// runs until `close()`, which drains the queue and joins it; a writer that is never closed keeps its thread
/// for the life of the process (what the daemon's global logging needs).
public final class JournalWriter: Sendable {
    private struct State {
        var ring: [JournalEntry?]
        var head = 0
        var count = 0
        /// Dropped since the last report.
        var unreported = 0
        /// Dropped since the writer started.
        var dropped = 0
        var closing = false
    }

    /// How many entries may wait for journald.
    public let capacity: Int
    private let identifier: String
    private let sink: any JournalSink
    private let state: Locked<State>
    /// Counts queued entries (plus one for `close`), so the thread sleeps in `sem_wait` when there is nothing.
    private let available: Semaphore
    private let thread = Locked<pthread_t?>(nil)

    /// Starts the writer thread, sending to journald.
    ///
    /// - Parameters:
    ///   - capacity: entries that may wait while journald is slow; more are dropped and counted.
    ///   - identifier: `SYSLOG_IDENTIFIER=` of the writer's own "entries dropped" reports.
    /// - Throws: `SystemdError` (`writerUnavailable`) when the thread cannot be created.
    public convenience init(capacity: Int = 4096, identifier: String = "controlnode") throws(SystemdError) {
        try self.init(capacity: capacity, identifier: identifier, sink: SystemJournal())
    }

    init(capacity: Int, identifier: String, sink: any JournalSink) throws(SystemdError) {
        self.capacity = max(1, capacity)
        self.identifier = identifier
        self.sink = sink
        state = Locked(State(ring: Array(repeating: nil, count: max(1, capacity))))
        available = Semaphore()
        var handle = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(
            &handle, nil,
            { context in
                Unmanaged<JournalWriter>.fromOpaque(context!).takeRetainedValue().drain()
                return nil
            }, context)
        guard status == 0 else {
            Unmanaged<JournalWriter>.fromOpaque(context).release()
            throw SystemdError(.writerUnavailable, errno: status, detail: "pthread_create")
        }
        thread.withLock { $0 = handle }
    }

    /// Entries dropped since the writer started, because the queue was full or journald refused them.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Entries waiting for the writer thread.
    public var queuedCount: Int { state.withLock { $0.count } }

    /// Queues `entry` without ever blocking; drops and counts it when the queue is full or closed.
    func submit(_ entry: JournalEntry) {
        let queued = state.withLock { state -> Bool in
            guard !state.closing, state.count < state.ring.count else {
                state.dropped += 1
                state.unreported += 1
                return false
            }
            state.ring[(state.head + state.count) % state.ring.count] = entry
            state.count += 1
            return true
        }
        if queued { available.signal() }
    }

    /// Sends what is queued, stops the thread and waits for it. Later entries are dropped.
    public func close() {
        let alreadyClosing = state.withLock { state in
            defer { state.closing = true }
            return state.closing
        }
        guard !alreadyClosing else { return }
        available.signal()
        if let handle = thread.withLock({ $0.take() }) { pthread_join(handle, nil) }
    }

    /// The thread's loop: one entry per wake-up, until closed and empty.
    private func drain() {
        while true {
            available.wait()
            let (entry, lost, finished) = state.withLock { state -> (JournalEntry?, Int, Bool) in
                let lost = state.unreported
                state.unreported = 0
                guard state.count > 0 else { return (nil, lost, state.closing) }
                let entry = state.ring[state.head]
                state.ring[state.head] = nil
                state.head = (state.head + 1) % state.ring.count
                state.count -= 1
                return (entry, lost, false)
            }
            if lost > 0 { report(lost) }
            if let entry, sink.send(entry) < 0 { recordLoss() }
            if finished { return }
        }
    }

    private func report(_ lost: Int) {
        var entry = JournalEntry()
        entry.append("MESSAGE", "\(lost) log entries dropped: journald did not keep up or refused them")
        entry.append("PRIORITY", "4")
        entry.append("SYSLOG_IDENTIFIER", identifier)
        entry.append("EVENT", "log_entries_dropped")
        entry.append("DROPPED", String(lost))
        if sink.send(entry) < 0 { state.withLock { $0.unreported += lost } }
    }

    private func recordLoss() {
        state.withLock { state in
            state.dropped += 1
            state.unreported += 1
        }
    }
}

/// A POSIX counting semaphore, the one primitive that lets a thread sleep until work arrives.
private final class Semaphore: @unchecked Sendable {
    // @unchecked: sem_t is made for use from many threads at once; the pointer is set in init and freed in
    // deinit, which runs only after the writer thread, which holds a reference, has ended.
    private let semaphore: UnsafeMutablePointer<sem_t>

    init() {
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, 0)
    }

    func signal() { sem_post(semaphore) }

    /// Waits for one `signal`, retrying when a signal handler interrupts the wait.
    func wait() {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }
}
