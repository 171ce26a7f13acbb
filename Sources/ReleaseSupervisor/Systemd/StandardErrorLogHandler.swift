#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Logging

/// A swift-log handler writing one plain-text line per entry to standard error, for running the daemon
/// from a terminal or under a supervisor other than systemd:
/// `2026-11-20T09:15:02.481Z warning controlnode: node down release=service_app host=web1`.
public struct StandardErrorLogHandler: LogHandler {
    /// The handler's own metadata, merged under each call's metadata.
    public var metadata: Logger.Metadata = [:]
    /// Entries below this level are not written.
    public var logLevel: Logger.Level
    /// The metadata provider swift-log consults at each call.
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String

    /// A handler for the logger `label`.
    public init(label: String, logLevel: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    /// The handler's metadata value for `key`.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the line with a single `write`, so lines from different threads do not interleave.
    public func log(event: LogEvent) {
        var bytes = Array(line(for: event, at: Self.timestamp()).utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }  // nowhere left to report a broken stderr
            offset += written
        }
    }

    /// The text written for `event`, ending in a newline.
    func line(for event: LogEvent, at timestamp: String) -> String {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        var line = "\(timestamp) \(event.level) \(label): \(event.message)"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        return line + "\n"
    }

    /// The current UTC time as ISO 8601 with milliseconds, without Foundation.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let millis = Int32(now.tv_nsec / 1_000_000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
    }
}
