import Foundation
import Logging
import Synchronization
import Testing

@testable import ReleaseSupervisor

/// A sink that records entries and can hold the writer thread inside `send`, as a stalled journald would.
private final class RecordingSink: JournalSink {
    private let state = Locked<(entries: [JournalEntry], holding: Bool, inside: Int)>(([], false, 0))

    var entries: [JournalEntry] { state.withLock { $0.entries } }
    /// How many sends have started (and so how many entries the thread has taken off the queue).
    var started: Int { state.withLock { $0.inside } }

    func hold() { state.withLock { $0.holding = true } }
    func release() { state.withLock { $0.holding = false } }

    func send(_ entry: JournalEntry) -> Int32 {
        state.withLock { $0.inside += 1 }
        while state.withLock({ $0.holding }) { usleep(1_000) }
        state.withLock { $0.entries.append(entry) }
        return 0
    }
}

@Suite("journal entries: field names, priorities and the non-blocking writer")
struct JournalWriterTests {
    @Test("metadata keys become journald field names", arguments: [
        ("release", "RELEASE"), ("host", "HOST"), ("event", "EVENT"), ("tunnel-port", "TUNNEL_PORT"),
        ("Tunnel.Port", "TUNNEL_PORT"), ("_private", "PRIVATE"), ("__x", "X"), ("9lives", "META_9LIVES"),
        ("message", "META_MESSAGE"), ("priority", "META_PRIORITY"), ("", "META"), ("---", "META"),
        ("größe", "GR__E"), (String(repeating: "k", count: 80), String(repeating: "K", count: 64)),
    ])
    func fieldNames(key: String, expected: String) {
        let name = JournalFieldName.sanitize(key)
        #expect(name == expected)
        #expect(name.count <= 64 && name.first.map { $0.isLetter } == true)
        #expect(name.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
    }

    @Test("swift-log levels map to syslog priorities")
    func priorities() {
        let expected: [(Logger.Level, Int)] = [
            (.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ]
        for (level, priority) in expected { #expect(JournalLogHandler.syslogPriority(level) == priority) }
    }

    @Test("an entry carries message, priority, identifier, code location and every metadata key")
    func entryFields() throws {
        let sink = RecordingSink()
        let writer = try JournalWriter(capacity: 8, identifier: "controlnode", sink: sink)
        var logger = Logger(label: "controlnode.release") { JournalLogHandler(label: $0, writer: writer) }
        logger[metadataKey: "release"] = "service_app"
        logger.warning("node down", metadata: ["host": "web1", "event": "nodedown", "tunnel-port": "43001"])
        logger.debug("below the level, not written")
        writer.close()
        let entry = try #require(sink.entries.first)
        #expect(sink.entries.count == 1)
        #expect(entry.value(of: "MESSAGE") == "node down")
        #expect(entry.value(of: "PRIORITY") == "4")
        #expect(entry.value(of: "SYSLOG_IDENTIFIER") == "controlnode")
        #expect(entry.value(of: "LOGGER") == "controlnode.release")
        #expect(entry.value(of: "RELEASE") == "service_app")
        #expect(entry.value(of: "HOST") == "web1")
        #expect(entry.value(of: "EVENT") == "nodedown")
        #expect(entry.value(of: "TUNNEL_PORT") == "43001")
        #expect(entry.value(of: "CODE_FILE")?.hasSuffix("JournalWriterTests.swift") == true)
        #expect(entry.value(of: "CODE_FUNC") == "entryFields()")
    }

    @Test("a stalled sink never blocks the logger: entries past the queue are dropped, counted and reported")
    func dropsWhenStalled() async throws {
        let sink = RecordingSink()
        let writer = try JournalWriter(capacity: 4, identifier: "controlnode", sink: sink)
        func entry(_ text: String) -> JournalEntry {
            var entry = JournalEntry()
            entry.append("MESSAGE", text)
            return entry
        }
        sink.hold()
        writer.submit(entry("taken by the thread"))
        #expect(await eventually { sink.started == 1 })
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for index in 0..<10 { writer.submit(entry("queued \(index)")) }
        }
        #expect(elapsed < .milliseconds(200), "submitting to a full queue took \(elapsed)")
        #expect(writer.droppedCount == 6)
        sink.release()
        #expect(await eventually { sink.entries.count == 6 })
        writer.submit(entry("after the stall"))
        writer.close()
        let messages = sink.entries.compactMap { $0.value(of: "MESSAGE") }
        #expect(Array(messages.prefix(2)) == ["taken by the thread", "6 log entries dropped: journald did not keep up or refused them"])
        #expect(sink.entries[1].value(of: "DROPPED") == "6")
        #expect(sink.entries[1].value(of: "PRIORITY") == "4")
        #expect(Array(messages.dropFirst(2)) == ["queued 0", "queued 1", "queued 2", "queued 3", "after the stall"])
        writer.submit(entry("after close"))
        #expect(sink.entries.count == messages.count, "nothing is written after close")
    }

    @Test("JOURNAL_STREAM chooses the journal only when it names this process's standard error")
    func destination() {
        var info = stat()
        fstat(2, &info)
        #expect(LogDestination.automatic(journalStream: nil) == .standardError)
        #expect(LogDestination.automatic(journalStream: "garbage") == .standardError)
        #expect(LogDestination.automatic(journalStream: "\(info.st_dev):\(info.st_ino &+ 1)") == .standardError)
        #expect(LogDestination.automatic(journalStream: "\(info.st_dev):\(info.st_ino)") == .journal)
    }

    @Test("the stderr handler writes one line: time, level, label, message, sorted metadata")
    func standardErrorLine() {
        var handler = StandardErrorLogHandler(label: "controlnode")
        handler[metadataKey: "release"] = "service_app"
        let event = LogEvent(
            level: .warning, message: "node down", metadata: ["host": "web1"], source: "ReleaseSupervisor",
            file: #fileID, function: #function, line: #line)
        #expect(
            handler.line(for: event, at: "2026-11-20T09:15:02.481Z")
                == "2026-11-20T09:15:02.481Z warning controlnode: node down host=web1 release=service_app\n")
    }

    @Test("the stderr handler's timestamp is ISO 8601 UTC with milliseconds")
    func timestamp() {
        let stamp = StandardErrorLogHandler.timestamp()
        #expect(stamp.count == 24 && stamp.hasSuffix("Z"), "\(stamp)")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        #expect(stamp.hasPrefix(String(calendar.component(.year, from: Date()))))
    }
}
