#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSystemd

/// The only place in the library that calls libsystemd; everything in `Systemd/` goes through here.
enum LibSystemd {
    /// Sends `state` (newline-separated `KEY=value` assignments) to the service manager.
    ///
    /// Never unsets the environment: `unset_environment = 1` would race with other threads reading it.
    /// - Returns: true when sent, false when `NOTIFY_SOCKET` is not set.
    static func notify(_ state: String) throws(SystemdError) -> Bool {
        let result = state.withCString { sd_notify(0, $0) }
        if result < 0 { throw SystemdError(.notifyFailed, errno: -result, detail: "sd_notify") }
        return result > 0
    }

    /// The watchdog interval systemd expects pings within, or nil when the watchdog is off for this process
    /// (`WATCHDOG_USEC` unset, or `WATCHDOG_PID` names another process).
    static func watchdogInterval() throws(SystemdError) -> UInt64? {
        var microseconds: UInt64 = 0
        let result = sd_watchdog_enabled(0, &microseconds)
        if result < 0 {
            throw SystemdError(
                .watchdogMisconfigured, errno: -result,
                detail: "WATCHDOG_USEC or WATCHDOG_PID in the environment cannot be parsed")
        }
        return result > 0 && microseconds > 0 ? microseconds : nil
    }

    /// Sends one journal entry whose fields are `NAME=value` byte ranges of `bytes`, ending at `ends`.
    ///
    /// - Returns: 0 on success, else the negative errno from `sd_journal_sendv`.
    static func journalSend(bytes: [UInt8], ends: [Int]) -> Int32 {
        bytes.withUnsafeBytes { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -EINVAL }
            var vectors: [iovec] = []
            vectors.reserveCapacity(ends.count)
            var start = 0
            for end in ends {
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base + start), iov_len: end - start))
                start = end
            }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }

    /// The monotonic clock in microseconds, as `MONOTONIC_USEC=` expects.
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
