/// The table of `controlnode status`: one line per (release, host), sorted by release then host, fitted to a
/// terminal's width. Columns keep their natural width while they fit; when they do not, the last error gives way
/// first (down to `minimumError`), then the widest of release, host and version, and every cut ends with `…`.
/// `status RELEASE --host H` shows the whole of a row instead.
public enum StatusTable {
    /// One row, as the table shows it.
    public struct Row: Sendable, Equatable {
        /// The release.
        public var release: String
        /// The host.
        public var host: String
        /// `running`, `failed`, …
        public var status: String
        /// The running (or installed) version.
        public var version: String?
        /// The version it should run.
        public var desired: String?
        /// The last health check: true passed, false failed, nil none yet (or no check).
        public var healthy: Bool?
        /// Checks failed in a row.
        public var healthFailures: Int
        /// When the current connection came up.
        public var since: WallClockTime?
        /// Restarts by the daemon.
        public var restarts: Int
        /// The last error.
        public var error: String?

        /// A row; what is unknown is nil.
        public init(
            release: String, host: String, status: String, version: String?, desired: String?, healthy: Bool?,
            healthFailures: Int, since: WallClockTime?, restarts: Int, error: String?
        ) {
            self.release = release
            self.host = host
            self.status = status
            self.version = version
            self.desired = desired
            self.healthy = healthy
            self.healthFailures = healthFailures
            self.since = since
            self.restarts = restarts
            self.error = error
        }
    }

    /// The terminal width the table fits when the terminal's is unknown.
    public static let defaultWidth = 80
    /// The narrowest the error column gets before other columns are cut.
    public static let minimumError = 12
    /// The narrowest a cut release, host or version gets.
    public static let minimumCut = 6

    static let header = ["RELEASE", "HOST", "STATUS", "VERSION", "HEALTH", "UPTIME", "RESTARTS", "LAST ERROR"]
    /// Columns that may be cut, narrowest allowed first: release, host, version.
    private static let cuttable = [0, 1, 3]
    private static let errorColumn = 7
    private static let gap = "  "

    /// The lines of the table of `rows` at `now`, header first, none longer than `width` characters.
    public static func lines(_ rows: [Row], now: WallClockTime, width: Int = defaultWidth) -> [String] {
        let sorted = rows.sorted { ($0.release, $0.host) < ($1.release, $1.host) }
        let table = [header] + sorted.map { cells($0, now: now) }
        var widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        var total: Int { widths.reduce(0, +) + gap.count * (widths.count - 1) }
        if total > width { widths[errorColumn] = max(minimumError, widths[errorColumn] - (total - width)) }
        while total > width {
            guard let widest = cuttable.filter({ widths[$0] > minimumCut }).max(by: { widths[$0] < widths[$1] }) else { break }
            widths[widest] -= 1
        }
        if total > width { widths[errorColumn] = max(1, widths[errorColumn] - (total - width)) }
        return table.map { row in
            let padded = row.enumerated().map { column, cell in
                let text = cut(cell, to: widths[column])
                return column == row.count - 1 ? text : text + String(repeating: " ", count: widths[column] - text.count)
            }
            return cut(trimmed(padded.joined(separator: gap)), to: width)
        }
    }

    /// The cells of `row`: the version as `0.1.0`, or `0.1.0→0.2.0` while the desired one differs; health as
    /// `ok`, `failing 3` or `-`.
    static func cells(_ row: Row, now: WallClockTime) -> [String] {
        [
            row.release, row.host, row.status, versionText(row), healthText(row),
            row.since.map { uptime(from: $0, to: now) } ?? "-", String(row.restarts), oneLine(row.error ?? ""),
        ]
    }

    /// `0.1.0`, `0.1.0→0.2.0` (running one version, desired another), `-→0.2.0`, or `-`.
    public static func versionText(_ row: Row) -> String {
        switch (row.version, row.desired) {
        case (let running?, let desired?) where running != desired: "\(running)→\(desired)"
        case (nil, let desired?): "-→\(desired)"
        case (let running?, _): running
        case (nil, nil): "-"
        }
    }

    /// `ok`, `failing 3`, or `-` before the first check.
    public static func healthText(_ row: Row) -> String {
        switch row.healthy {
        case true?: "ok"
        case false?: "failing \(row.healthFailures)"
        case nil: "-"
        }
    }

    /// How long from `start` to `end`, in its two largest units: `45s`, `12m05s`, `3h07m`, `2d04h`.
    public static func uptime(from start: WallClockTime, to end: WallClockTime) -> String {
        let seconds = max(0, (end.nanosecondsSinceEpoch - start.nanosecondsSinceEpoch) / 1_000_000_000)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m\(two(seconds % 60))s"
        case ..<86_400: return "\(seconds / 3600)h\(two(seconds % 3600 / 60))m"
        default: return "\(seconds / 86_400)d\(two(seconds % 86_400 / 3600))h"
        }
    }

    /// `text` at most `width` characters long: cut to `width - 1` and `…` when longer.
    public static func cut(_ text: String, to width: Int) -> String {
        guard text.count > width else { return text }
        guard width > 0 else { return "" }
        return String(text.prefix(width - 1)) + "…"
    }

    private static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\t" || $0 == "\r\n" ? " " : $0 })
    }

    private static func trimmed(_ text: String) -> String {
        var text = text
        while text.last == " " { text.removeLast() }
        return text
    }
}
