#if canImport(Glibc)
import Glibc
#endif

/// MD5 (RFC 1321): only for the Erlang distribution handshake, whose challenge digest is MD5 by protocol.
struct MD5Hasher: BlockHasher {
    static let bigEndianLength = false
    var pending: [UInt8] = []
    var length: UInt64 = 0
    private var state: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476]
    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
        14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15,
        21, 6, 10, 15, 21,
    ]
    /// floor(abs(sin(i + 1)) × 2^32), as RFC 1321 tabulates.
    private static let constants: [UInt32] = (0..<64).map { index in
        UInt32(truncatingIfNeeded: UInt64(fabs(sin(Double(index) + 1)) * 4_294_967_296))
    }

    mutating func compress(_ block: UnsafeRawBufferPointer) {
        var (a, b, c, d) = (state[0], state[1], state[2], state[3])
        for index in 0..<64 {
            var f: UInt32
            let g: Int
            switch index {
            case 0..<16: (f, g) = ((b & c) | (~b & d), index)
            case 16..<32: (f, g) = ((d & b) | (~d & c), (5 * index + 1) % 16)
            case 32..<48: (f, g) = (b ^ c ^ d, (3 * index + 5) % 16)
            default: (f, g) = (c ^ (b | ~d), (7 * index) % 16)
            }
            f = f &+ a &+ Self.constants[index] &+ block.littleEndianWord(g)
            (a, d, c) = (d, c, b)
            b = b &+ rotateLeft(f, Self.shifts[index])
        }
        state[0] &+= a
        state[1] &+= b
        state[2] &+= c
        state[3] &+= d
    }

    var stateBytes: [UInt8] { [UInt8](words: state, bigEndian: false) }
}
