#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failure talking to systemd (notifications, watchdog, journal).
public struct SystemdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// A notification could not be sent on `NOTIFY_SOCKET`.
        case notifyFailed
        /// `WATCHDOG_USEC`/`WATCHDOG_PID` are set but not numbers systemd would have written.
        case watchdogMisconfigured
        /// The journal writer's thread could not be started.
        case writerUnavailable
    }

    /// The kind of failure.
    public let code: Code
    /// The errno libsystemd or the system reported, or 0.
    public let errno: Int32
    /// What was being done, in words for the log.
    public let detail: String

    /// Creates an error of `code` with the underlying `errno` and a detail for the log.
    public init(_ code: Code, errno: Int32 = 0, detail: String) {
        self.code = code
        self.errno = errno
        self.detail = detail
    }

    /// What failed, the system's reason, and what to check.
    public var description: String {
        let reason = errno == 0 ? "" : ": \(String(cString: strerror(errno)))"
        switch code {
        case .notifyFailed:
            return "cannot notify systemd (\(detail))\(reason); check NOTIFY_SOCKET and the unit's NotifyAccess="
        case .watchdogMisconfigured:
            return "\(detail)\(reason); set WatchdogSec= in the unit instead of setting them by hand"
        case .writerUnavailable:
            return "cannot start the journal writer (\(detail))\(reason)"
        }
    }
}
