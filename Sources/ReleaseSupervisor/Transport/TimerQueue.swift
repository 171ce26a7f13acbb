/// Deadlines with actions, earliest first, for the event thread: a binary min-heap with lazy removal.
///
/// Cancelling only forgets the action; the heap entry is dropped when it reaches the top or when
/// cancelled entries outnumber live ones, so both scheduling and cancelling are cheap and memory
/// stays proportional to the live timers (an RPC timeout is armed and cancelled on every call).
struct TimerQueue {
    typealias Action = @Sendable () -> Void

    private struct Entry {
        var deadline: Int64
        var id: UInt64
    }

    private var heap: [Entry] = []
    private var actions: [UInt64: Action] = [:]
    private var nextID: UInt64 = 1

    /// How many heap entries are kept, cancelled ones included (at most about twice the live ones).
    var entryCount: Int { heap.count }

    /// Adds `action` to run at `deadline` (monotonic nanoseconds); returns its id for `cancel`.
    mutating func schedule(at deadline: Int64, _ action: @escaping Action) -> UInt64 {
        let id = nextID
        nextID += 1
        actions[id] = action
        heap.append(Entry(deadline: deadline, id: id))
        siftUp(heap.count - 1)
        if heap.count > 64 && heap.count > 2 * actions.count { compact() }
        return id
    }

    /// Forgets the timer `id`; false when it already ran or was cancelled.
    @discardableResult
    mutating func cancel(_ id: UInt64) -> Bool {
        actions.removeValue(forKey: id) != nil
    }

    /// The earliest deadline of a live timer, or nil when none is armed.
    mutating func earliestDeadline() -> Int64? {
        while let top = heap.first {
            if actions[top.id] != nil { return top.deadline }
            removeTop()
        }
        return nil
    }

    /// Removes and returns the actions whose deadline is at or before `now`, earliest first.
    mutating func takeExpired(now: Int64) -> [Action] {
        var expired: [Action] = []
        while let top = heap.first, top.deadline <= now {
            removeTop()
            if let action = actions.removeValue(forKey: top.id) { expired.append(action) }
        }
        return expired
    }

    private mutating func compact() {
        heap.removeAll { actions[$0.id] == nil }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count && heap[left + 1].deadline < heap[left].deadline { smallest = left + 1 }
            guard heap[smallest].deadline < heap[parent].deadline else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
