/// Reads length-prefixed packets from a `ByteStream`, keeping whatever arrives beyond the packet.
///
/// EPMD, the handshake (2-byte lengths) and the connected node (4-byte lengths) share one reader per
/// connection, so bytes that arrive early are never lost between phases. Owned by one task.
struct PacketReader {
    /// Why no packet could be read.
    enum Failure: Error {
        /// The stream ended inside a packet (or before one, when one was required).
        case endOfStream
        /// A packet announced more bytes than the limit allows.
        case tooLarge(Int)
    }

    let stream: any ByteStream
    private var buffer: [UInt8] = []
    private var start = 0
    private static let chunk = 64 * 1024

    init(stream: any ByteStream) {
        self.stream = stream
    }

    private var available: Int { buffer.count - start }

    /// Reads more bytes; false at end of stream.
    private mutating func fill() async throws -> Bool {
        let bytes = try await stream.read(upTo: Self.chunk)
        if bytes.isEmpty { return false }
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
        return true
    }

    /// Exactly `count` bytes, or nil if the stream ended cleanly before the first of them.
    mutating func readExactly(_ count: Int) async throws -> [UInt8]? {
        while available < count {
            if try await !fill() {
                if available == 0 { return nil }
                throw Failure.endOfStream
            }
        }
        defer { start += count }
        return Array(buffer[start..<start + count])
    }

    /// The next packet's payload (empty for a zero-length packet, which is a tick), or nil at a clean end.
    mutating func readPacket(headerSize: Int, maximum: Int) async throws -> [UInt8]? {
        guard let header = try await readExactly(headerSize) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximum else { throw Failure.tooLarge(length) }
        if length == 0 { return [] }
        guard let payload = try await readExactly(length) else { throw Failure.endOfStream }
        return payload
    }

    /// The bytes read from the stream but not yet consumed, for a reader that takes over the stream.
    mutating func takeBuffered() -> [UInt8] {
        defer {
            buffer = []
            start = 0
        }
        return Array(buffer[start...])
    }

    /// Everything until the peer closes, up to `maximum` bytes.
    mutating func readToEnd(maximum: Int) async throws -> [UInt8] {
        while try await fill() {
            if available > maximum { throw Failure.tooLarge(available) }
        }
        defer { start = buffer.count }
        return Array(buffer[start...])
    }
}
