import Synchronization

/// A direct-tcpip channel to `host:port` as seen from the SSH server, as a duplex byte stream.
///
/// Bytes flow through the connection's session thread; at most `bufferLimit` received bytes wait here for a
/// reader, after which the channel stops reading and the SSH window holds the sender back.
public final class SSHChannel: ByteStream {
    struct State {
        var inbound: [UInt8] = []
        var inboundStart = 0
        var remoteEOF = false
        var failure: SSHError?
        var reader: (limit: Int, continuation: CheckedContinuation<[UInt8], any Error>)?
        var outbound: [UInt8] = []
        var written = 0
        var queued = 0
        var writers: [(upTo: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        var closeRequested = false

        var inboundCount: Int { inbound.count - inboundStart }

        /// Takes up to `limit` received bytes.
        mutating func take(_ limit: Int) -> [UInt8] {
            let end = min(inbound.count, inboundStart + limit)
            let bytes = Array(inbound[inboundStart..<end])
            inboundStart = end
            if inboundStart == inbound.count {
                inbound.removeAll(keepingCapacity: true)
                inboundStart = 0
            }
            return bytes
        }
    }

    static let bufferLimit = 1 << 20
    let state = Locked(State())
    private let connection: SSHConnection
    /// Where the channel leads, as `host:port` from the server.
    public let target: String

    init(connection: SSHConnection, target: String) {
        self.connection = connection
        self.target = target
    }

    /// Reads at least one and at most `maxLength` bytes; an empty array at end of stream.
    ///
    /// - Throws: `SSHError` when the channel or connection failed; `CancellationError` when cancelled.
    public func read(upTo maxLength: Int) async throws -> [UInt8] {
        let wasFull = state.withLock { $0.inboundCount >= Self.bufferLimit }
        let bytes: [UInt8] = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<[UInt8], any Error>? = state.withLock { state in
                    if state.inboundCount > 0 { return .success(state.take(maxLength)) }
                    // After our own close, reads end quietly, whatever the pump saw while closing.
                    if state.closeRequested { return .success([]) }
                    if let failure = state.failure { return .failure(failure) }
                    if state.remoteEOF { return .success([]) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.reader = (maxLength, continuation)
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let reader = state.withLock { state in
                defer { state.reader = nil }
                return state.reader
            }
            reader?.continuation.resume(throwing: CancellationError())
        }
        if wasFull { connection.wake() }
        return bytes
    }

    /// Writes all of `bytes`; returns once libssh2 has taken them.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let refusal: SSHError? = state.withLock { state in
                if let failure = state.failure { return failure }
                if state.closeRequested {
                    return SSHError(.closed, host: connection.settings.endpoint, detail: "channel to \(target) is closed")
                }
                state.outbound.append(contentsOf: bytes)
                state.queued += bytes.count
                state.writers.append((state.queued, continuation))
                return nil
            }
            if let refusal { continuation.resume(throwing: refusal) } else { connection.wake() }
        }
    }

    /// Closes the channel; a pending read returns end of stream.
    public func close() async {
        let reader = state.withLock { state in
            state.closeRequested = true
            defer { state.reader = nil }
            return state.reader
        }
        reader?.continuation.resume(returning: [])
        connection.wake()
    }

    /// Opens a channel through `connection` and waits until the server has accepted or refused it.
    static func open(on connection: SSHConnection, host: String, port: UInt16) async throws(SSHError) -> SSHChannel {
        let channel = SSHChannel(connection: connection, target: "\(host):\(port)")
        let opened: Result<Void, SSHError> = await withCheckedContinuation { continuation in
            connection.submit(ChannelPump(channel: channel, host: host, port: port, opened: continuation))
        }
        try opened.get()
        return channel
    }
}
