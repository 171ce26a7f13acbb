/// Tells systemd about the daemon's state through `sd_notify`; does nothing when `NOTIFY_SOCKET` is unset, so
/// the same code runs under systemd and from a terminal.
///
/// Every method returns whether a notification was sent (false: not running under a notify-type unit) and
/// throws only when `NOTIFY_SOCKET` is set but the message could not be delivered.
public struct Notifier: Sendable {
    /// Creates a notifier; it reads `NOTIFY_SOCKET` at each call, never caches or unsets it.
    public init() {}

    /// Startup is complete: systemd considers the unit started. `status` becomes `STATUS=` as well.
    @discardableResult
    public func ready(status: String? = nil) throws(SystemdError) -> Bool {
        try send(["READY=1"], status: status)
    }

    /// A configuration reload has begun; send `ready()` when it is done (Type=notify-reload units need both).
    @discardableResult
    public func reloading(status: String? = nil) throws(SystemdError) -> Bool {
        try send(["RELOADING=1", "MONOTONIC_USEC=\(LibSystemd.monotonicMicroseconds())"], status: status)
    }

    /// Shutdown has begun.
    @discardableResult
    public func stopping(status: String? = nil) throws(SystemdError) -> Bool {
        try send(["STOPPING=1"], status: status)
    }

    /// One line for `systemctl status`; newlines become spaces because they separate assignments.
    @discardableResult
    public func status(_ text: String) throws(SystemdError) -> Bool {
        try send([], status: text)
    }

    /// A watchdog keep-alive ping. Prefer `Watchdog.run`, which pings only while the daemon is responsive.
    @discardableResult
    public func watchdogPing() throws(SystemdError) -> Bool {
        try send(["WATCHDOG=1"], status: nil)
    }

    private func send(_ assignments: [String], status: String?) throws(SystemdError) -> Bool {
        var lines = assignments
        if let status { lines.append("STATUS=" + Self.singleLine(status)) }
        return try LibSystemd.notify(lines.joined(separator: "\n"))
    }

    static func singleLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
