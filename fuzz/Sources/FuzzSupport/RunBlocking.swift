import Dispatch
import Synchronization

/// Runs `body` to completion on the calling thread and returns its value: libFuzzer calls its target
/// synchronously, while the EPMD and handshake code reads its streams with `await`.
///
/// The task and every child it starts prefer an executor that runs their jobs here, so an input runs on one
/// thread from start to end: coverage does not depend on thread timing, and what the input allocates is freed
/// before the target returns (libFuzzer otherwise suspects a leak on every input and scans the heap).
public func runBlocking<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
    let executor = CallingThreadExecutor()
    let result = Mutex<Value?>(nil)
    let task = Task(executorPreference: executor) {
        let value = await body()
        result.withLock { $0 = value }
    }
    executor.run { result.withLock { $0 != nil } }
    _ = task
    return result.withLock { $0! }
}

/// A task executor whose jobs run on the thread that calls `run`; other threads (a timer that fires, a
/// cancellation) may enqueue.
private final class CallingThreadExecutor: TaskExecutor {
    private let jobs = Mutex<[UnownedJob]>([])
    private let enqueued = DispatchSemaphore(value: 0)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        enqueued.signal()
    }

    /// Runs jobs as they come until `isDone`.
    func run(until isDone: () -> Bool) {
        while !isDone() {
            enqueued.wait()
            guard let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
