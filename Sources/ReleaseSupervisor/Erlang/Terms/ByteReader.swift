/// Reads big-endian fields from a byte array, failing with a typed error instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var position: Int
    /// How many more terms the decoder may make from this input (`TermDecoder.Limits.maximumTerms`).
    var termsLeft = Int.max

    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }
    var isAtEnd: Bool { position >= bytes.count }

    private func require(_ count: Int) throws(TermDecodingError) {
        guard count >= 0, count <= remaining else {
            throw TermDecodingError(.truncated, at: position, "needs \(count) bytes, \(remaining) left")
        }
    }

    mutating func readByte() throws(TermDecodingError) -> UInt8 {
        try require(1)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt16() throws(TermDecodingError) -> UInt16 {
        try require(2)
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func readUInt32() throws(TermDecodingError) -> UInt32 {
        try require(4)
        defer { position += 4 }
        var value: UInt32 = 0
        for index in position..<position + 4 { value = value << 8 | UInt32(bytes[index]) }
        return value
    }

    mutating func readUInt64() throws(TermDecodingError) -> UInt64 {
        try require(8)
        defer { position += 8 }
        var value: UInt64 = 0
        for index in position..<position + 8 { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    /// The next `count` bytes, after checking they are there, so a forged length never allocates.
    mutating func readBytes(_ count: Int) throws(TermDecodingError) -> [UInt8] {
        try require(count)
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func skip(_ count: Int) throws(TermDecodingError) {
        try require(count)
        position += count
    }

    /// Skips the next byte if it is `byte`; false (and nothing skipped) otherwise, or at the end.
    mutating func skip(ifNext byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Fails unless at least `count` more bytes remain; used to bound element counts before reserving.
    func ensureRemaining(_ count: Int, for what: String) throws(TermDecodingError) {
        guard count <= remaining else {
            throw TermDecodingError(
                .lengthExceedsInput, at: position, "\(what) claims \(count) entries but \(remaining) bytes remain")
        }
    }
}
