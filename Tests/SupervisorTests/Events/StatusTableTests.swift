import Testing

@testable import ReleaseSupervisor

@Suite("status table layout")
struct StatusTableTests {
    private let now = WallClockTime(iso8601: "2026-12-01T12:00:00Z")!

    private func row(
        _ release: String, _ host: String, status: String = "running", version: String? = "0.1.0", desired: String? = "0.1.0",
        healthy: Bool? = true, failures: Int = 0, since: String? = "2026-12-01T09:52:55Z", error: String? = nil
    ) -> StatusTable.Row {
        StatusTable.Row(
            release: release, host: host, status: status, version: version, desired: desired, healthy: healthy,
            healthFailures: failures, since: since.flatMap { WallClockTime(iso8601: $0) }, restarts: 2, error: error)
    }

    @Test("rows sort by release then host, under a header; uptime, health and versions read as operators expect")
    func layout() {
        let lines = StatusTable.lines(
            [
                row("ledger", "web2", status: "failed", version: "0.1.0", desired: "0.2.0", healthy: false, failures: 3,
                    since: nil, error: "budget spent"),
                row("billing", "web1", healthy: nil),
                row("ledger", "web1"),
            ], now: now)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("RELEASE"))
        #expect(lines[0].contains("HEALTH") && lines[0].contains("UPTIME") && lines[0].contains("LAST ERROR"))
        #expect(lines[1].hasPrefix("billing  web1"))
        #expect(lines[2].hasPrefix("ledger   web1"))
        #expect(lines[3].hasPrefix("ledger   web2"))
        #expect(lines[2].contains("2h07m") && lines[2].contains("  ok  "))
        #expect(lines[1].contains("  -  "))
        #expect(lines[3].contains("0.1.0→0.2.0") && lines[3].contains("failing 3") && lines[3].hasSuffix("budget spent"))
        for line in lines { #expect(line.count <= 80, "\(line.count): \(line)") }
    }

    @Test("long errors, releases and hosts are cut with … to fit 80 columns (or any width)")
    func fits() {
        let error = "cannot reach the host: ssh: connection refused by 10.0.0.7:22 after 3 attempts; check sshd and the firewall"
        let rows = [
            row("a_release_with_a_very_long_name", "a-host.in.a.long.domain.example.com", version: "10.20.30", desired: "11.0.0",
                healthy: false, failures: 12, error: error),
            row("short", "h", error: error),
        ]
        for width in [80, 100, 60] {
            let lines = StatusTable.lines(rows, now: now, width: width)
            for line in lines { #expect(line.count <= width, "\(width): \(line)") }
            #expect(lines.dropFirst().allSatisfy { $0.hasSuffix("…") }, "\(lines)")
        }
        let wide = StatusTable.lines(rows, now: now, width: 400)
        #expect(wide[2].hasSuffix(error))
        // An error with a newline stays on its row.
        let multiline = StatusTable.lines([row("r", "h", error: "first\nsecond")], now: now)
        #expect(multiline.count == 2 && multiline[1].hasSuffix("first second"))
    }

    @Test("uptime in its two largest units; versions and health as cells")
    func cells() {
        func up(_ seconds: Int64) -> String {
            StatusTable.uptime(from: WallClockTime(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch - seconds * 1_000_000_000), to: now)
        }
        #expect(up(0) == "0s" && up(45) == "45s" && up(725) == "12m05s" && up(11_220) == "3h07m" && up(187_200) == "2d04h")
        #expect(up(-5) == "0s")
        #expect(StatusTable.versionText(row("r", "h", version: nil, desired: nil)) == "-")
        #expect(StatusTable.versionText(row("r", "h", version: nil, desired: "0.2.0")) == "-→0.2.0")
        #expect(StatusTable.versionText(row("r", "h", version: "0.1.0", desired: nil)) == "0.1.0")
        #expect(StatusTable.cut("abcdef", to: 4) == "abc…" && StatusTable.cut("abc", to: 3) == "abc")
        #expect(StatusTable.cut("abc", to: 0) == "")
    }
}
