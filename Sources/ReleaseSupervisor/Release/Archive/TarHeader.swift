/// The fields of one 512-byte tar header block that the scanner needs, with its checksum verified.
struct TarHeader {
    /// The name, joined with the ustar prefix when there is one.
    let path: String
    /// The type byte (`0` file, `5` directory, `L` GNU long name, `x` pax, …).
    let type: UInt8
    /// The size of the data that follows, in bytes.
    let size: Int
    /// The permission bits.
    let mode: UInt32
    /// The link target, for links.
    let linkName: String

    /// Reads `block`, the header found at archive byte `offset`.
    ///
    /// - Throws: `ArchiveError` with `.corruptTar` for a wrong checksum or an unreadable number field.
    init(_ block: [UInt8], at offset: Int) throws(ArchiveError) {
        guard let stored = Self.number(block, 148, 8, required: true) else {
            throw ArchiveError(.corruptTar, "the tar header at byte \(offset) has no checksum: not a tar archive")
        }
        // The checksum is the sum of the header's bytes with its own field read as spaces; historic tars
        // summed signed bytes, so either sum is accepted.
        var unsigned = 8 * 32
        var signed = 8 * 32
        for (index, byte) in block.enumerated() where !(148..<156).contains(index) {
            unsigned += Int(byte)
            signed += Int(Int8(bitPattern: byte))
        }
        guard stored == unsigned || stored == signed else {
            throw ArchiveError(
                .corruptTar, "the tar header at byte \(offset) fails its checksum: the archive is damaged")
        }
        guard let size = Self.number(block, 124, 12), size >= 0 else {
            throw ArchiveError(.corruptTar, "the tar header at byte \(offset) has an unreadable size")
        }
        let name = Self.text(block, 0, 100)
        // POSIX ustar ("ustar\0") keeps a path prefix at 345; the GNU format ("ustar ") keeps other data there.
        let isPOSIX = block[257..<263].elementsEqual("ustar\0".utf8)
        let prefix = isPOSIX ? Self.text(block, 345, 155) : ""
        path = prefix.isEmpty ? name : prefix + "/" + name
        type = block[156]
        self.size = size
        mode = UInt32(truncatingIfNeeded: Self.number(block, 100, 8) ?? 0)
        linkName = Self.text(block, 157, 100)
    }

    private static func text(_ block: [UInt8], _ start: Int, _ length: Int) -> String {
        String(decoding: block[start..<start + length].prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field (NUL- or space-terminated), or GNU base-256 when its first byte has the high bit set;
    /// an empty field is 0 unless `required`.
    private static func number(_ block: [UInt8], _ start: Int, _ length: Int, required: Bool = false) -> Int? {
        let bytes = block[start..<start + length]
        if let first = bytes.first, first & 0x80 != 0 {
            guard first == 0x80 else { return nil }  // 0xFF: negative, never valid here
            var value = 0
            for byte in bytes.dropFirst() {
                guard value <= Int.max >> 8 else { return nil }
                value = value << 8 | Int(byte)
            }
            return value
        }
        var value = 0
        var digits = 0
        for byte in bytes.drop(while: { $0 == 32 }) {
            if byte == 0 || byte == 32 { break }
            guard (48...55).contains(byte), value <= Int.max >> 3 else { return nil }
            value = value << 3 | Int(byte - 48)
            digits += 1
        }
        return digits > 0 || !required ? value : nil
    }
}
