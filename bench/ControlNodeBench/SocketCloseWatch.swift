import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a port of the killed node, watched by a thread of its own: the moment the kernel
/// closes the node's sockets, the floor under any nodedown figure (the node's process teardown), measured beside it.
final class SocketCloseWatch: Sendable {
    private let closedAt = Mutex<ContinuousClock.Instant?>(nil)
    private let descriptor: Int32

    /// Connects to 127.0.0.1:`port`; nil when nothing accepts there.
    init?(port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            return nil
        }
        descriptor = fd
        let watch = Unmanaged.passRetained(self).toOpaque()
        var thread: pthread_t = 0
        pthread_create(&thread, nil, { argument in
            let watch = Unmanaged<SocketCloseWatch>.fromOpaque(argument!).takeRetainedValue()
            var entry = pollfd(fd: watch.descriptor, events: Int16(POLLIN), revents: 0)
            while poll(&entry, 1, -1) < 0 && errno == EINTR {}
            watch.closedAt.withLock { $0 = .now }
            return nil
        }, watch)
        pthread_detach(thread)
    }

    /// Waits (up to 10 s) for the close and returns its time.
    func closed() async throws -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if let at = closedAt.withLock({ $0 }) { return at }
            try await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    deinit { close(descriptor) }
}
