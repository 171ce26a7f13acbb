import ArgumentParser
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// `controlnode status [RELEASE] [--host H] [--watch] [--json]`.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every (release, host) the daemon supervises; with a release and --host, all of one.")
    @Argument(help: "Only this release.") var release: String?
    @Option(help: "Only this host; with a release, every field of it, one per line.") var host: String?
    @Flag(help: "Redraw every second until interrupted.") var watch = false
    @Flag(help: "Print JSON for scripts.") var json = false
    @OptionGroup var options: SocketOptions

    func run() throws {
        let request = ControlRequest(command: "status", release: release, host: host)
        guard watch else { return try show(request) }
        let terminal = isatty(1) == 1
        StatusScreen.restoreCursorOnInterrupt(terminal: terminal)
        if terminal { StatusScreen.write(StatusScreen.hideCursor) }
        // A daemon that goes away ends the loop with an error: the cursor comes back then too.
        defer { if terminal { StatusScreen.write(StatusScreen.showCursor) } }
        var first = true
        while true {
            if terminal {
                StatusScreen.write(StatusScreen.clear)
            } else if !first {
                line("")
            }
            first = false
            try show(request)
            sleep(1)
        }
    }

    private func show(_ request: ControlRequest) throws {
        guard let rows = try options.list(request, json: json, \.status) else { return }
        if let release, let host {
            guard let row = rows.first else {
                standardError("controlnode: no release \(release) on host \(host) is supervised")
                throw ExitCode(1)
            }
            for text in StatusScreen.detail(row, now: .now()) { line(text) }
            return
        }
        let width = isatty(1) == 1 ? StatusScreen.terminalWidth() : StatusTable.defaultWidth
        for text in StatusTable.lines(rows.map(StatusTable.Row.init), now: .now(), width: width) { line(text) }
    }
}

extension StatusTable.Row {
    /// The table's row of a `status` answer.
    init(_ row: StatusRow) {
        self.init(
            release: row.release, host: row.host, status: row.status, version: row.version, desired: row.desiredVersion,
            healthy: row.health.map { $0 == "ok" }, healthFailures: row.healthFailures,
            since: row.since.flatMap { WallClockTime(iso8601: $0) }, restarts: row.restarts, error: row.lastError)
    }
}

/// What `status` draws with: the detail view of one row, the terminal's width, and the escapes of `--watch`.
enum StatusScreen {
    static let clear = "\u{1B}[H\u{1B}[2J"
    static let hideCursor = "\u{1B}[?25l"
    static let showCursor = "\u{1B}[?25h"

    /// Every field of `row`, one per line, nothing cut.
    static func detail(_ row: StatusRow, now: WallClockTime) -> [String] {
        let since = row.since.flatMap { WallClockTime(iso8601: $0) }
        let health: String
        switch row.health {
        case "ok": health = "ok"
        case "failing": health = "failing (\(row.healthFailures) in a row)"
        default: health = "- (no check has run on this connection)"
        }
        let fields: [(String, String?)] = [
            ("release", row.release), ("host", row.host), ("status", row.status), ("mode", row.mode),
            ("version", row.version), ("desired version", row.desiredVersion), ("desired by", row.desiredBy),
            ("drift", row.drift ? "yes" : "no"), ("node", row.node), ("os pid", row.osPid.map(String.init)),
            ("tunnel port", row.tunnelPort.map(String.init)),
            ("connected since", row.since.map { text in
                since.map { "\(text) (up \(StatusTable.uptime(from: $0, to: now)))" } ?? text
            }),
            ("restarts", String(row.restarts)), ("health", health), ("last error", row.lastError),
        ]
        let width = fields.map(\.0.count).max() ?? 0
        return fields.map { label, value in
            label + ":" + String(repeating: " ", count: width - label.count + 1) + (value ?? "-")
        }
    }

    /// The terminal's columns, or 80 when it does not say.
    static func terminalWidth() -> Int {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return StatusTable.defaultWidth }
        return Int(size.ws_col)
    }

    /// Writes `text` to stdout without a newline.
    static func write(_ text: String) {
        _ = Glibc.write(1, text, text.utf8.count)
    }

    /// Ctrl-C ends `--watch`: the cursor comes back (on a terminal) and the CLI exits 130.
    static func restoreCursorOnInterrupt(terminal: Bool) {
        if terminal {
            signal(SIGINT) { _ in
                let text: StaticString = "\u{1B}[?25h\n"
                _ = Glibc.write(1, text.utf8Start, text.utf8CodeUnitCount)
                _exit(130)
            }
        } else {
            signal(SIGINT) { _ in _exit(130) }
        }
    }
}
