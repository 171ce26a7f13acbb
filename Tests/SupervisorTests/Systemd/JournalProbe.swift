import Foundation
import Logging
import Testing

@testable import ReleaseSupervisor

/// The logging half of "entries reach a real journald": the test binary runs this as a child process inside
/// the private mount namespace where `PrivateJournald` runs journald; everywhere else it is skipped.
@Suite("journald probe (child process of the journald integration test)")
struct JournalProbe {
    static let isChild = ProcessInfo.processInfo.environment["CONTROLNODE_JOURNAL_PROBE"] == "1"

    @Test(.enabled(if: isChild, "runs only as the child that the journald integration test starts in its namespace"))
    func probe() async throws {
        let environment = ProcessInfo.processInfo.environment
        let journald = try #require(environment["JOURNALD_PID"].flatMap { pid_t($0) })
        let stallCalls = 3000
        let writer = try JournalWriter(capacity: 64)
        var logger = Logger(label: "controlnode.release") {
            JournalLogHandler(label: $0, writer: writer, logLevel: .info)
        }
        logger[metadataKey: "release"] = "service_app"
        logger.error("node down", metadata: ["host": "web1", "event": "nodedown", "tunnel-port": "43001"])
        logger.info("line one\nline two", metadata: ["event": "multiline"])
        logger.debug("below the level", metadata: ["event": "hidden"])

        // journald stops reading: the writer thread blocks in sendmsg, the queue fills, logging must not wait.
        kill(journald, SIGSTOP)
        var stalled = Logger(label: "controlnode.stall") { JournalLogHandler(label: $0, writer: writer) }
        stalled[metadataKey: "release"] = "stall_probe"
        let elapsed = ContinuousClock().measure {
            for index in 0..<stallCalls { stalled.info("stalled entry \(index)") }
        }
        kill(journald, SIGCONT)
        #expect(await eventually { writer.queuedCount == 0 })
        logger.notice(
            "probe done",
            metadata: [
                "event": "probe_done", "calls": "\(stallCalls)", "dropped": "\(writer.droppedCount)",
                "elapsed-ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ])
        writer.close()
    }
}
