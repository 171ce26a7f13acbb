import Synchronization
import Testing

@testable import ReleaseSupervisor

@Suite("Timer queue")
struct TimerQueueTests {
    @Test("expired timers come out earliest first; cancelled ones never do")
    func order() {
        var queue = TimerQueue()
        let fired = Recorder()
        let late = queue.schedule(at: 300) { fired.add(3) }
        _ = queue.schedule(at: 100) { fired.add(1) }
        let cancelled = queue.schedule(at: 200) { fired.add(2) }
        _ = late
        let first = queue.cancel(cancelled)
        let second = queue.cancel(cancelled)
        #expect(first && !second)
        var earliest = queue.earliestDeadline()
        #expect(earliest == 100)
        for action in queue.takeExpired(now: 250) { action() }
        #expect(fired.values == [1])
        earliest = queue.earliestDeadline()
        #expect(earliest == 300)
        for action in queue.takeExpired(now: 300) { action() }
        #expect(fired.values == [1, 3])
        earliest = queue.earliestDeadline()
        #expect(earliest == nil)
    }

    @Test("arming and cancelling many timers keeps the queue as small as the live ones")
    func compaction() {
        var queue = TimerQueue()
        let kept = queue.schedule(at: 1_000_000) {}
        for deadline in 0..<100_000 {
            let id = queue.schedule(at: Int64(500_000 + deadline)) {}
            queue.cancel(id)
        }
        #expect(queue.entryCount <= 130)
        var earliest = queue.earliestDeadline()
        #expect(earliest == 1_000_000)
        let expired = queue.takeExpired(now: 999_999)
        #expect(expired.isEmpty)
        let cancelled = queue.cancel(kept)
        #expect(cancelled)
        earliest = queue.earliestDeadline()
        #expect(earliest == nil)
    }
}

/// Collects values from closures that may run on any thread.
final class Recorder: Sendable {
    private let storage = Locked<[Int]>([])
    func add(_ value: Int) { storage.withLock { $0.append(value) } }
    var values: [Int] { storage.withLock { $0 } }
}
