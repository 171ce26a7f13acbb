import ReleaseSupervisor
import Synchronization
import Foundation

/// A raw connection to a daemon's control socket, for tests that play callers the CLI never is: slow to send,
/// never reading, holding the connection.
///
/// Blocking, with timeouts on every call (connecting included), so a daemon that does not answer fails the test
/// instead of hanging it. Calls that wait belong on a Dispatch thread (`offload`), not the test's cooperative pool.
final class ControlSocketClient: Sendable {
    let descriptor: Int32
    private let pending = Locked<[UInt8]>([])

    /// Connects to `path`; throws when the daemon does not accept within `timeout` (a full backlog).
    init(path: String, timeout: Duration = .seconds(2)) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw FixtureError("socket(AF_UNIX) failed: errno \(errno)") }
        // A Unix socket's connect waits for room in the listener's backlog for at most the send timeout.
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in Array(path.utf8.prefix(raw.count - 1)).enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let error = errno
            close(descriptor)
            throw FixtureError("cannot connect to \(path): \(String(cString: strerror(error)))")
        }
    }

    deinit { close(descriptor) }

    /// Sends `text`; false when the daemon has closed the connection (or its buffer stayed full for the timeout).
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            == bytes.count
    }

    /// The next line the daemon sends (without its newline); nil when none comes within `timeout` or the
    /// connection ends first.
    func readLine(timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let line = pending.withLock { pending -> String? in
                guard let newline = pending.firstIndex(of: 10) else { return nil }
                defer { pending.removeSubrange(...newline) }
                return String(decoding: pending[..<newline], as: UTF8.self)
            }
            if let line { return line }
            guard let chunk = receive(until: deadline), !chunk.isEmpty else { return nil }
            pending.withLock { $0 += chunk }
        }
    }

    /// Reads until the daemon closes the connection or `timeout` passes: how many bytes came, whether the last was
    /// a newline (a complete reply), and whether the connection ended.
    func drain(timeout: Duration) -> (bytes: Int, complete: Bool, ended: Bool) {
        let deadline = ContinuousClock.now + timeout
        var (count, last) = pending.withLock { pending in
            defer { pending = [] }
            return (pending.count, pending.last)
        }
        while true {
            guard let chunk = receive(until: deadline) else { return (count, last == 10, false) }
            if chunk.isEmpty { return (count, last == 10, true) }
            count += chunk.count
            last = chunk.last
        }
    }

    /// Bytes that came by `deadline`: empty at the end of the connection (or a reset), nil when none came in time.
    private func receive(until deadline: ContinuousClock.Instant) -> [UInt8]? {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return nil }
        let milliseconds = Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
        var descriptors = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptors, 1, max(milliseconds, 1)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if count < 0 { return errno == EAGAIN || errno == EINTR ? receive(until: deadline) : [] }
        return Array(buffer[..<count])
    }
}
