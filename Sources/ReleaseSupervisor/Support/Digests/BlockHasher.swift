/// The Merkle–Damgård frame shared by MD5, SHA-1 and SHA-256: 64-byte blocks, a partial block kept between
/// updates, and padding with the message length in bits at the end (big- or little-endian).
///
/// Our own digests (rather than swift-crypto, which brings all of Foundation into the daemon on Linux) for
/// what the daemon needs: SHA-256 of tarballs and host keys, HMAC-SHA-1 for hashed known_hosts entries and
/// MD5 for the Erlang distribution handshake.
protocol BlockHasher {
    /// Whether the length in the padding is big-endian (SHA) or little-endian (MD5).
    static var bigEndianLength: Bool { get }
    /// Mixes one 64-byte block into the state.
    mutating func compress(_ block: UnsafeRawBufferPointer)
    /// The digest of the state, after the final block.
    var stateBytes: [UInt8] { get }
    var pending: [UInt8] { get set }
    var length: UInt64 { get set }
}

extension BlockHasher {
    /// Adds `bytes` to the message.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var input = bytes[...]
        if !pending.isEmpty {
            let take = min(64 - pending.count, input.count)
            pending.append(contentsOf: input.prefix(take))
            input = input.dropFirst(take)
            guard pending.count == 64 else { return }
            let block = pending
            block.withUnsafeBytes { compress($0) }
            pending.removeAll(keepingCapacity: true)
        }
        var start = input.startIndex
        while input.endIndex - start >= 64 {
            compress(UnsafeRawBufferPointer(rebasing: bytes[start..<start + 64]))
            start += 64
        }
        pending.append(contentsOf: bytes[start..<input.endIndex])
    }

    /// Adds `bytes` to the message.
    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Pads, compresses the last blocks and returns the digest.
    mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for index in 0..<8 {
            let shift = Self.bigEndianLength ? (7 - index) * 8 : index * 8
            tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
        tail.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                compress(UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + 64]))
                offset += 64
            }
        }
        pending.removeAll()
        return stateBytes
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) func bigEndianWord(_ index: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
    }

    @inline(__always) func littleEndianWord(_ index: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
    }
}

@inline(__always) func rotateLeft(_ value: UInt32, _ count: UInt32) -> UInt32 { (value << count) | (value >> (32 - count)) }
@inline(__always) func rotateRight(_ value: UInt32, _ count: UInt32) -> UInt32 { (value >> count) | (value << (32 - count)) }

extension Array where Element == UInt8 {
    /// The bytes of `words`, each big-endian (SHA) or little-endian (MD5).
    init(words: [UInt32], bigEndian: Bool) {
        self = words.flatMap { word in
            let ordered = bigEndian ? word.bigEndian : word.littleEndian
            return Swift.withUnsafeBytes(of: ordered) { Array($0) }
        }
    }
}
