import Foundation
import Synchronization

/// A datagram socket standing in for systemd's notification socket: `install()` points `NOTIFY_SOCKET` at it,
/// `receive` returns what `sd_notify` sent, with the time it arrived.
final class NotifySocket: Sendable {
    private static let counter = Atomic<Int>(0)
    let name: String
    /// The file system path it is bound at, or nil for the abstract namespace.
    let path: String?
    private let descriptor: Int32

    /// What `NOTIFY_SOCKET` says for this socket (`@` marks the abstract namespace for sd_notify).
    var address: String { path ?? "@\(name)" }

    /// Binds in the abstract namespace, or at `path`: a path reaches a daemon in another network namespace,
    /// the abstract namespace does not (it belongs to the network namespace).
    init(path: String? = nil) throws {
        name = "controlnode-test-notify-\(getpid())-\(Self.counter.add(1, ordering: .relaxed).newValue)"
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw FixtureError("socket(AF_UNIX) failed: errno \(errno)") }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        // Abstract namespace: a leading NUL byte, then the name; the length counts exactly those bytes.
        let pathBytes = path.map { Array($0.utf8) + [0] } ?? [0] + Array(name.utf8)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
            for (offset, byte) in pathBytes.enumerated() { raw[offset] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw FixtureError("bind(\(path ?? "@" + name)) failed: errno \(errno)")
        }
    }

    /// Sets `NOTIFY_SOCKET` to this socket.
    func install() { setenv("NOTIFY_SOCKET", address, 1) }

    /// The next datagram, or nil when none arrives within `timeout`.
    func receive(timeout: Duration = .seconds(2)) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Every datagram that arrives during `duration`, each with its arrival time.
    func collect(for duration: Duration) -> [(message: String, at: ContinuousClock.Instant)] {
        let deadline = ContinuousClock.now.advanced(by: duration)
        var received: [(String, ContinuousClock.Instant)] = []
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            if let message = receive(timeout: remaining) { received.append((message, ContinuousClock.now)) }
        }
        return received
    }

    /// Throws away whatever is queued.
    func discardPending() { while receive(timeout: .zero) != nil {} }

    deinit { close(descriptor) }
}

/// Removes the sd_notify and watchdog variables, so one test's settings never leak into the next.
func clearSystemdEnvironment() {
    for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { unsetenv(name) }
}
