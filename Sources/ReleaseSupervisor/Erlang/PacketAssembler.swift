/// Cuts 4-byte length-prefixed distribution packets out of bytes pushed in arbitrary pieces.
///
/// The push counterpart of `PacketReader`, for streams that deliver bytes as they arrive.
struct PacketAssembler {
    private var buffer: [UInt8]
    private var start = 0
    private let maximum: Int

    /// Starts with `leftover`, bytes that arrived before the stream began pushing.
    init(leftover: [UInt8], maximum: Int) {
        buffer = leftover
        self.maximum = maximum
    }

    /// Adds `bytes` and returns the packets now complete, in order (an empty one is a tick).
    ///
    /// - Throws: `PacketReader.Failure.tooLarge` when a packet announces more than the maximum.
    mutating func append(_ bytes: UnsafeRawBufferPointer) throws(PacketReader.Failure) -> [[UInt8]] {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
        return try complete()
    }

    /// The packets complete in what is buffered, consuming them.
    mutating func complete() throws(PacketReader.Failure) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        while buffer.count - start >= 4 {
            let length =
                Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8
                | Int(buffer[start + 3])
            guard length <= maximum else { throw .tooLarge(length) }
            guard buffer.count - start - 4 >= length else { break }
            packets.append(Array(buffer[start + 4..<start + 4 + length]))
            start += 4 + length
        }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 256 * 1024)
            start = 0
        }
        return packets
    }
}
