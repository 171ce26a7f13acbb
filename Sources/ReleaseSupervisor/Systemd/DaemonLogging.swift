#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Logging

/// Where the daemon's log goes.
public enum LogDestination: String, Sendable, Equatable, CaseIterable {
    /// journald, with structured fields (`JournalLogHandler`).
    case journal
    /// Plain text lines on standard error (`StandardErrorLogHandler`).
    case standardError = "stderr"

    /// `journal` when standard error is connected to journald, as systemd says through `JOURNAL_STREAM`
    /// (`device:inode` of that stream, checked against file descriptor 2); otherwise `standardError`.
    public static func automatic(journalStream: String? = DaemonLogging.environment("JOURNAL_STREAM")) -> Self {
        guard let journalStream else { return .standardError }
        let parts = journalStream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else {
            return .standardError
        }
        var info = stat()
        guard fstat(2, &info) == 0 else { return .standardError }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode ? .journal : .standardError
    }
}

/// Sets up swift-log for the daemon, once per process.
public enum DaemonLogging {
    /// Bootstraps `LoggingSystem` with the journal or the stderr handler.
    ///
    /// - Parameters:
    ///   - destination: where to log; nil chooses with `LogDestination.automatic()`.
    ///   - level: the lowest level written.
    ///   - identifier: `SYSLOG_IDENTIFIER=` of journal entries.
    /// - Returns: the journal writer when logging to journald; `close()` it at exit to flush what is queued.
    /// - Throws: `SystemdError` when the journal writer's thread cannot start.
    @discardableResult
    public static func bootstrap(
        destination: LogDestination? = nil, level: Logger.Level = .info, identifier: String = "controlnode"
    ) throws(SystemdError) -> JournalWriter? {
        switch destination ?? .automatic() {
        case .journal:
            let writer = try JournalWriter(identifier: identifier)
            LoggingSystem.bootstrap { label in
                JournalLogHandler(label: label, writer: writer, identifier: identifier, logLevel: level)
            }
            return writer
        case .standardError:
            LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, logLevel: level) }
            return nil
        }
    }

    /// An environment variable, without Foundation.
    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
