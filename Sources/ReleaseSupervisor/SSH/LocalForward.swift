import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A local port forward: a listener on 127.0.0.1 whose connections are carried to `host:port` as seen from
/// the SSH server, each through its own direct-tcpip channel of the one connection.
public final class LocalForward: Sendable {
    /// The local port (on 127.0.0.1) that forwards.
    public let port: UInt16
    /// Where connections go, as `host:port` from the server.
    public let target: String
    private let connection: SSHConnection
    let closeRequested = Atomic<Bool>(false)

    private init(port: UInt16, target: String, connection: SSHConnection) {
        self.port = port
        self.target = target
        self.connection = connection
    }

    /// Stops listening and closes every forwarded connection.
    public func close() {
        closeRequested.store(true, ordering: .releasing)
        connection.wake()
    }

    deinit { close() }

    static func start(on connection: SSHConnection, localPort: UInt16, host: String, port: UInt16) async throws(SSHError)
        -> LocalForward
    {
        let endpoint = connection.settings.endpoint
        let listener: (fd: Int32, port: UInt16)
        do {
            listener = try listen(port: localPort)
        } catch {
            throw SSHError(
                .listenFailed, host: endpoint,
                detail: "cannot listen on 127.0.0.1:\(localPort) for a forward to \(host):\(port): \(error)")
        }
        let forward = LocalForward(port: listener.port, target: "\(host):\(port)", connection: connection)
        connection.submit(ForwardListener(forward: forward, descriptor: listener.fd, host: host, port: port))
        return forward
    }

    private static func listen(port: UInt16) throws(SystemCallError) -> (fd: Int32, port: UInt16) {
        let fd = try systemCall("socket") {
            socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            let length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = try systemCall("bind") {
                withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            }
            _ = try systemCall("listen") { Glibc.listen(fd, 128) }
            var bound = sockaddr_in()
            var boundLength = length
            _ = try systemCall("getsockname") {
                withUnsafeMutablePointer(to: &bound) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &boundLength) }
                }
            }
            return (fd, UInt16(bigEndian: bound.sin_port))
        } catch {
            Glibc.close(fd)
            throw error
        }
    }
}

/// Accepts connections on a forward's listening socket, on the session thread.
final class ForwardListener: SessionOperation, @unchecked Sendable {
    // @unchecked: stepped only on the session thread; `forward.closeRequested` is atomic.
    private let forward: LocalForward
    private let descriptor: Int32
    private let host: String
    private let port: UInt16
    private var connections: [ForwardedConnection] = []

    init(forward: LocalForward, descriptor: Int32, host: String, port: UInt16) {
        self.forward = forward
        self.descriptor = descriptor
        self.host = host
        self.port = port
    }

    /// Set when accept fails for want of descriptors: the listener rests a second instead of spinning.
    private var restingUntil: Int64?

    var watchedDescriptor: pollfd? {
        restingUntil == nil ? pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0) : nil
    }

    var deadline: Int64? { restingUntil }

    func step(_ loop: SessionLoop) -> StepResult {
        connections.removeAll { $0.isFinished }
        if forward.closeRequested.load(ordering: .acquiring) {
            for connection in connections { connection.requestClose() }
            Glibc.close(descriptor)
            return .finished
        }
        if let until = restingUntil {
            guard loop.now >= until else { return .idle }
            restingUntil = nil
        }
        var accepted = false
        while true {
            let client: Int32
            do {
                guard let next = try nonBlockingCall("accept", { accept(descriptor, nil, nil) }) else { break }
                client = next
            } catch {
                loop.logger.warning(
                    "local forward cannot accept connections; retrying in 1 s",
                    metadata: ["host": "\(loop.settings.endpoint)", "target": "\(host):\(port)", "error": "\(error)"])
                restingUntil = loop.now + 1_000_000_000
                break
            }
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            TCPConnector.setNoDelay(client)
            let connection = ForwardedConnection(descriptor: client, host: host, port: port)
            connections.append(connection)
            loop.adopt(connection)
            accepted = true
        }
        return accepted ? .progressed : .idle
    }

    func abandon(_ error: SSHError) {
        Glibc.close(descriptor)
    }
}
