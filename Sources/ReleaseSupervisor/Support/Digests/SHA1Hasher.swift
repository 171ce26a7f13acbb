/// SHA-1 (FIPS 180-4): only for HMAC-SHA-1 of hashed known_hosts names, as OpenSSH writes them.
struct SHA1Hasher: BlockHasher {
    static let bigEndianLength = true
    var pending: [UInt8] = []
    var length: UInt64 = 0
    private var state: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476, 0xc3d2_e1f0]

    mutating func compress(_ block: UnsafeRawBufferPointer) {
        var w = [UInt32](repeating: 0, count: 80)
        for index in 0..<16 { w[index] = block.bigEndianWord(index) }
        for index in 16..<80 { w[index] = rotateLeft(w[index - 3] ^ w[index - 8] ^ w[index - 14] ^ w[index - 16], 1) }
        var (a, b, c, d, e) = (state[0], state[1], state[2], state[3], state[4])
        for index in 0..<80 {
            let (f, k): (UInt32, UInt32) =
                switch index {
                case 0..<20: ((b & c) | (~b & d), 0x5a82_7999)
                case 20..<40: (b ^ c ^ d, 0x6ed9_eba1)
                case 40..<60: ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc)
                default: (b ^ c ^ d, 0xca62_c1d6)
                }
            let temp = rotateLeft(a, 5) &+ f &+ e &+ k &+ w[index]
            (e, d, c, b, a) = (d, c, rotateLeft(b, 30), a, temp)
        }
        state[0] &+= a
        state[1] &+= b
        state[2] &+= c
        state[3] &+= d
        state[4] &+= e
    }

    var stateBytes: [UInt8] { [UInt8](words: state, bigEndian: true) }
}

/// HMAC (RFC 2104) over SHA-1.
func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
    var block = key
    if block.count > 64 {
        var hasher = SHA1Hasher()
        hasher.update(block)
        block = hasher.finalize()
    }
    block += [UInt8](repeating: 0, count: 64 - block.count)
    var inner = SHA1Hasher()
    inner.update(block.map { $0 ^ 0x36 })
    inner.update(message)
    var outer = SHA1Hasher()
    outer.update(block.map { $0 ^ 0x5c })
    outer.update(inner.finalize())
    return outer.finalize()
}
