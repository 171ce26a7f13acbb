#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The transport's event thread, offered as a task executor to code that waits on sockets and wants
/// the shortest round trip.
///
/// A task that prefers it (`withTaskExecutorPreference(EventThread.executor) { ... }`) is resumed on
/// the thread that saw its socket become ready, with no hand-over to another thread: a sequential
/// RPC loop over a `TCPStream` then costs one thread wake-up per call instead of two. The price is
/// that everything the task does between awaits runs on the thread every socket of the process
/// depends on, so only short, non-blocking work belongs there. The daemon does not use it; it is for
/// latency-sensitive clients and the benchmarks.
public enum EventThread {
    /// The executor that runs jobs on the event thread.
    public static var executor: any TaskExecutor { ReadinessMonitor.shared }
}

extension ReadinessMonitor: TaskExecutor {
    /// Queues a job to run on the event thread; wakes the thread unless the job comes from it.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let wasEmpty = jobs.withLock { jobs in
            defer { jobs.append(job) }
            return jobs.isEmpty
        }
        if wasEmpty && !isOnEventThread { wake() }
    }

    private var isOnEventThread: Bool { threadID.load(ordering: .acquiring) == UInt(pthread_self()) }

    /// Runs the queued jobs, and the ones they queue, before the thread waits again.
    func runJobs() {
        while true {
            let batch = jobs.withLock { jobs -> [UnownedJob] in
                var taken: [UnownedJob] = []
                swap(&taken, &jobs)
                return taken
            }
            if batch.isEmpty { return }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
