/// The bytes of one fuzz input, with a first byte that chooses how they are cut: the parsers under test
/// take input in pieces (network reads, decompressed windows), and bugs hide at piece boundaries.
public struct FuzzInput {
    /// The bytes after the control byte.
    public let bytes: [UInt8]
    /// How large each piece is (1 to 64 bytes, or everything at once): from the control byte.
    public let pieceSize: Int

    /// Splits libFuzzer's buffer into the control byte and the input proper.
    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        let all = Array(UnsafeBufferPointer(start: data, count: size))
        let control = all.first ?? 0
        bytes = Array(all.dropFirst())
        pieceSize = control >= 192 ? max(1, bytes.count) : Int(control % 64) + 1
    }

    /// The bytes cut into pieces of `pieceSize`.
    public var pieces: [ArraySlice<UInt8>] {
        stride(from: 0, to: bytes.count, by: pieceSize).map { bytes[$0..<min($0 + pieceSize, bytes.count)] }
    }
}
