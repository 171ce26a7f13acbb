import Foundation
import Testing

/// The journal handler against a real systemd-journald, read back with `journalctl -o json`.
@Suite("journald: entries a sysadmin can filter on", .serialized)
struct JournalIntegrationTests {
    @Test(
        "fields, priorities and multi-line messages reach journald; a stopped journald costs counted drops, not waits",
        .enabled(if: PrivateJournald.isAvailable, "\(PrivateJournald.unavailableReason ?? "")"),
        .timeLimit(.minutes(2)))
    func entriesReachJournald() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-journal")
        defer { directory.remove() }
        let testBinary = try #require(Bundle.main.executablePath)
        let (status, output) = try await offload {
            try PrivateJournald.run(
                [testBinary, "--testing-library", "swift-testing", "--filter", "JournalProbe"],
                environment: ["CONTROLNODE_JOURNAL_PROBE": "1"], doneEvent: "probe_done", in: directory)
        }
        try #require(status == 0, "the probe in the namespace failed (\(status)):\n\(output)")
        #expect(output.contains("1 test"), "the probe test did not run:\n\(output)")

        let release = try PrivateJournald.entries(in: directory, matching: "RELEASE=service_app")
        let nodeDown = try #require(release.first { $0["EVENT"] as? String == "nodedown" }, "\(release)")
        #expect(nodeDown["MESSAGE"] as? String == "node down")
        #expect(nodeDown["PRIORITY"] as? String == "3")
        #expect(nodeDown["SYSLOG_IDENTIFIER"] as? String == "controlnode")
        #expect(nodeDown["HOST"] as? String == "web1")
        #expect(nodeDown["TUNNEL_PORT"] as? String == "43001")
        #expect(nodeDown["LOGGER"] as? String == "controlnode.release")
        #expect((nodeDown["CODE_FILE"] as? String)?.hasSuffix("JournalProbe.swift") == true)
        let multiline = try #require(release.first { $0["EVENT"] as? String == "multiline" })
        #expect(multiline["MESSAGE"] as? String == "line one\nline two")
        #expect(multiline["PRIORITY"] as? String == "6")
        #expect(!release.contains { $0["EVENT"] as? String == "hidden" }, "a debug entry below the level was written")

        let summary = try #require(release.first { $0["EVENT"] as? String == "probe_done" })
        let calls = try #require(Int(summary["CALLS"] as? String ?? ""))
        let dropped = try #require(Int(summary["DROPPED"] as? String ?? ""))
        let elapsed = try #require(Int(summary["ELAPSED_MS"] as? String ?? ""))
        #expect(elapsed < 1000, "\(calls) log calls took \(elapsed) ms while journald was stopped")
        #expect(dropped > 0, "journald was stopped for \(calls) entries, yet nothing was dropped")
        let reports = try PrivateJournald.entries(in: directory, matching: "EVENT=log_entries_dropped")
        let reported = reports.compactMap { Int($0["DROPPED"] as? String ?? "") }.reduce(0, +)
        #expect(reported == dropped, "the drop reports (\(reported)) must account for every drop (\(dropped))")
        #expect(reports.allSatisfy { ($0["MESSAGE"] as? String)?.contains("log entries dropped") == true })
        let stalled = try PrivateJournald.entries(in: directory, matching: "RELEASE=stall_probe")
        #expect(stalled.count + dropped == calls, "\(stalled.count) written + \(dropped) dropped != \(calls)")
    }
}
