#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A `ByteStream` over a non-blocking TCP socket: for tests, benchmarks and the local tunnel port.
///
/// Waiting uses the process's shared readiness thread (`ReadinessMonitor`), so an idle stream costs
/// no CPU. Nagle's algorithm is off. One task may read and one may write at a time; reads are
/// cancellable and `close()` ends a pending read with end of stream. Reads can instead be pushed to
/// a handler on the readiness thread (`pushReads`).
public final class TCPStream: ImmediateWritableStream, PushReadableStream {
    private let descriptor: Int32
    private let token: UInt64
    private let closed = Atomic<Bool>(false)
    private let monitor: ReadinessMonitor
    private let pump = Locked<PushPump?>(nil)

    /// Connects to `host`:`port` (IPv4 or IPv6), giving up after `timeout`.
    ///
    /// - Throws: `TCPConnectError` when no address accepts the connection.
    public static func connect(host: String, port: UInt16, timeout: Duration = .seconds(5)) async throws -> TCPStream {
        let descriptor = try TCPConnector.connect(host: host, port: port, timeout: timeout)
        do {
            return try TCPStream(adopting: descriptor)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    /// Takes ownership of a connected socket (for example one returned by `accept`), making it
    /// non-blocking and turning Nagle's algorithm off. The stream closes it.
    public init(adopting descriptor: Int32) throws(SystemCallError) {
        let flags = try systemCall("fcntl") { fcntl(descriptor, F_GETFL) }
        _ = try systemCall("fcntl") { fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) }
        TCPConnector.setNoDelay(descriptor)
        monitor = ReadinessMonitor.shared
        token = try monitor.register(descriptor)
        self.descriptor = descriptor
    }

    deinit {
        // The descriptor is closed only here, when no call can still be using it, so a concurrent
        // read can never touch a descriptor number the process has reused.
        if !closed.load(ordering: .acquiring) { monitor.deregister(descriptor, token: token) }
        Glibc.close(descriptor)
    }

    /// Reads up to `maxLength` bytes; empty at end of stream or after `close()`.
    ///
    /// - Throws: `SystemCallError` when the connection failed (reset, for example), or `CancellationError`.
    public func read(upTo maxLength: Int) async throws -> [UInt8] {
        precondition(maxLength > 0, "read(upTo:) needs a positive length")
        let capacity = min(maxLength, 256 * 1024)
        while true {
            if closed.load(ordering: .acquiring) { return [] }
            var received: Int?
            let bytes = try [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                received = try nonBlockingCall("recv") { recv(descriptor, buffer.baseAddress, capacity, 0) }
                count = received ?? 0
            }
            if received != nil { return bytes }  // Data, or empty at end of stream.
            try await monitor.wait(.read, token: token)
        }
    }

    /// Writes all of `bytes`, waiting for the socket to drain when the kernel buffer is full.
    ///
    /// - Throws: `SystemCallError` when the connection failed or was closed.
    public func write(_ bytes: [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            if closed.load(ordering: .acquiring) { throw SystemCallError(call: "send", errno: EPIPE) }
            let sent = try bytes.withUnsafeBytes { buffer in
                try nonBlockingCall("send") {
                    send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                }
            }
            if let sent {
                offset += sent
            } else {
                try await monitor.wait(.write, token: token)
            }
        }
    }

    /// Sends what the kernel takes now, without waiting; returns how many bytes that was.
    ///
    /// - Throws: `SystemCallError` when the connection failed or was closed.
    public func writeImmediately(_ bytes: [UInt8]) throws -> Int {
        if closed.load(ordering: .acquiring) { throw SystemCallError(call: "send", errno: EPIPE) }
        var offset = 0
        while offset < bytes.count {
            let sent = try bytes.withUnsafeBytes { buffer in
                try nonBlockingCall("send") {
                    send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                }
            }
            guard let sent else { break }
            offset += sent
        }
        return offset
    }

    /// Delivers arriving bytes to `handler` on the readiness thread from now on; see `PushReadableStream`.
    ///
    /// The handler keeps the stream alive until `close()`, so its descriptor stays valid while it runs.
    public func pushReads(to handler: @escaping @Sendable (PushedRead) -> Void) {
        let pump = PushPump(handler: handler)
        self.pump.withLock { $0 = pump }
        monitor.setReadHandler(token: token) { pump.drain(self) }
    }

    /// Reads what the socket holds into `buffer`: the byte count, 0 at end of stream (or once closed),
    /// nil when nothing is there now.
    fileprivate func receiveNow(into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        if closed.load(ordering: .acquiring) { return 0 }
        return try nonBlockingCall("recv") { recv(descriptor, buffer.baseAddress, buffer.count, 0) }
    }

    /// Shuts the connection down in both directions and wakes any pending read or write.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(descriptor, Int32(SHUT_RDWR))
        monitor.deregister(descriptor, token: token)
        // Handing the pump back breaks the cycle stream → pump → handler → reader → stream.
        let pushing = pump.withLock { pump in
            defer { pump = nil }
            return pump
        }
        pushing?.end()
    }
}

/// Reads a pushing `TCPStream` until it would block, one drain at a time, into one reused buffer.
private final class PushPump: Sendable {
    private let handler: @Sendable (PushedRead) -> Void
    /// The receive buffer, and whether the stream has ended (nothing more is delivered).
    private let state = Locked<(buffer: UnsafeMutableRawBufferPointer, ended: Bool)>(
        (UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16), false))

    init(handler: @escaping @Sendable (PushedRead) -> Void) {
        self.handler = handler
    }

    deinit {
        state.withLock { $0.buffer.deallocate() }
    }

    /// Delivers `.end` unless the stream has ended already: the stream was closed locally.
    func end() {
        state.withLock { state in
            guard !state.ended else { return }
            state.ended = true
            handler(.end)
        }
    }

    /// Called for every readable edge; reads until the socket is drained, since it is edge-triggered.
    func drain(_ stream: TCPStream) {
        state.withLock { state in
            while !state.ended {
                do {
                    guard let count = try stream.receiveNow(into: state.buffer) else { return }
                    if count == 0 {
                        state.ended = true
                        handler(.end)
                    } else {
                        handler(.bytes(UnsafeRawBufferPointer(rebasing: state.buffer[0..<count])))
                        // A short read does not mean the end was seen: a peer's last bytes and its FIN that
                        // arrive together raise one edge, and no other edge follows. Read on until EAGAIN.
                    }
                } catch {
                    state.ended = true
                    handler(.failed(error))
                }
            }
        }
    }
}
