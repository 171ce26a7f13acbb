/// A bitstring whose length is not a whole number of bytes, such as `<<1:3>>`.
public struct BitBinary: Hashable, Sendable, CustomStringConvertible {
    /// The bits, most significant first; the last byte holds `bitsInLastByte` of them.
    public let bytes: [UInt8]
    /// How many high bits of the last byte belong to the value: 1 to 7.
    public let bitsInLastByte: UInt8

    /// Creates a bitstring; unused low bits of the last byte are cleared.
    ///
    /// Returns nil when `bytes` is empty or `bitsInLastByte` is not in 1...7 (those are plain binaries).
    public init?(bytes: [UInt8], bitsInLastByte: UInt8) {
        guard !bytes.isEmpty, (1...7).contains(bitsInLastByte) else { return nil }
        var bytes = bytes
        bytes[bytes.count - 1] &= ~UInt8(0xFF >> bitsInLastByte)
        self.bytes = bytes
        self.bitsInLastByte = bitsInLastByte
    }

    /// The length in bits.
    public var bitCount: Int { (bytes.count - 1) * 8 + Int(bitsInLastByte) }

    /// The bitstring in Erlang's notation.
    public var description: String {
        var parts = bytes.dropLast().map { String($0) }
        parts.append("\(bytes[bytes.count - 1] >> (8 - bitsInLastByte)):\(bitsInLastByte)")
        return "<<\(parts.joined(separator: ","))>>"
    }
}
