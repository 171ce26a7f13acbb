import Testing

@testable import ReleaseSupervisor

@Suite("Restart budget")
struct RestartBudgetTests {
    private let start = ContinuousClock.now

    private func at(_ seconds: Double) -> ContinuousClock.Instant {
        start.advanced(by: .milliseconds(Int64(seconds * 1000)))
    }

    @Test("allows maxRestarts within the window, then refuses until the oldest leaves it")
    func window() {
        var budget = RestartBudget(policy: RestartPolicy(maxRestarts: 3, window: .seconds(60)))
        for second in [0.0, 10, 20] {
            #expect(budget.allowsRestart(at: at(second)))
            budget.recordRestart(at: at(second))
        }
        #expect(!budget.allowsRestart(at: at(30)))
        #expect(budget.restartsInWindow(at: at(30)) == 3)
        #expect(budget.nextAllowedRestart(at: at(30)) == at(60))
        #expect(!budget.allowsRestart(at: at(59.9)))
        #expect(budget.allowsRestart(at: at(60)))
        #expect(budget.nextAllowedRestart(at: at(60)) == at(60))
        budget.recordRestart(at: at(60))
        #expect(!budget.allowsRestart(at: at(65)))
        #expect(budget.nextAllowedRestart(at: at(65)) == at(70))
        #expect(budget.totalRestarts == 4)
    }

    @Test("the default policy is 5 restarts in 5 minutes")
    func defaults() {
        var budget = RestartBudget(policy: RestartPolicy())
        for minute in 0..<5 { budget.recordRestart(at: at(Double(minute) * 10)) }
        #expect(!budget.allowsRestart(at: at(299)))
        #expect(budget.allowsRestart(at: at(300)))
        #expect(RestartBudget(policy: .never).nextAllowedRestart(at: at(0)) == nil)
        #expect(!RestartBudget(policy: .never).allowsRestart(at: at(0)))
    }

    @Test("backoff doubles with each restart in the window and is capped")
    func backoffGrowth() {
        let policy = RestartPolicy(
            maxRestarts: 10, window: .seconds(600), initialBackoff: .seconds(1), maximumBackoff: .seconds(5),
            jitter: 0)
        var budget = RestartBudget(policy: policy)
        var waits: [Duration] = []
        for second in 0..<5 {
            waits.append(budget.backoff(at: at(Double(second))))
            budget.recordRestart(at: at(Double(second)))
        }
        #expect(waits == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        // Once the window has passed, the wait is back to the first one.
        #expect(budget.backoff(at: at(700)) == .seconds(1))
    }

    @Test("jitter stays within its fraction and under the cap, and varies")
    func jitter() {
        let policy = RestartPolicy(
            maxRestarts: 10, initialBackoff: .seconds(2), maximumBackoff: .seconds(3), jitter: 0.25)
        var budget = RestartBudget(policy: policy)
        var generator = SeededGenerator(seed: 42)
        let first = (0..<200).map { _ in budget.backoff(at: at(0), using: &generator) }
        #expect(first.allSatisfy { $0 >= .milliseconds(1500) && $0 <= .milliseconds(2500) })
        #expect(Set(first).count > 100)
        budget.recordRestart(at: at(0))
        // 4 s before jitter: capped at 3 s even when the jitter would lengthen it.
        let capped = (0..<200).map { _ in budget.backoff(at: at(1), using: &generator) }
        #expect(capped.allSatisfy { $0 >= .milliseconds(3000 * 3 / 4) && $0 <= .seconds(3) })
        #expect(capped.contains(.seconds(3)))
    }

    @Test("keeps no more restart times than it needs")
    func bounded() {
        var budget = RestartBudget(policy: RestartPolicy(maxRestarts: 2, window: .seconds(1)))
        for index in 0..<10_000 { budget.recordRestart(at: at(Double(index) * 0.001)) }
        #expect(budget.totalRestarts == 10_000)
        #expect(budget.restartsInWindow(at: at(10)) == 2)
    }
}
