import Testing

@testable import ReleaseSupervisor

/// Member sizes at the edge of what the header fields can say, fed to the tar scanner directly.
@Suite("Tar member sizes")
struct TarMemberSizeTests {
    /// A ustar header block for `name` of `type`, with `size` as its 12-byte size field and a valid checksum.
    private func header(name: String, type: Character = "0", size: [UInt8]) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        block.replaceSubrange(0..<name.utf8.count, with: name.utf8)
        block.replaceSubrange(100..<108, with: Array("0000755\0".utf8))
        block.replaceSubrange(124..<136, with: size)
        block[156] = type.asciiValue ?? 0
        block.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
        block.replaceSubrange(148..<156, with: Array(repeating: 32, count: 8))
        let sum = block.reduce(0) { $0 + Int($1) }
        let octal = String(sum, radix: 8)
        let field = String(repeating: "0", count: 6 - octal.count) + octal
        block.replaceSubrange(148..<156, with: Array(field.utf8) + [0, 32])
        return block
    }

    private func octalSize(_ size: Int) -> [UInt8] {
        let octal = String(size, radix: 8)
        return Array((String(repeating: "0", count: 11 - octal.count) + octal).utf8) + [0]
    }

    /// The sizes of the members in `bytes`, fed to the scanner at once.
    @discardableResult
    private func scan(_ bytes: [UInt8]) throws(ArchiveError) -> [Int] {
        var tar = TarScanner()
        var sizes: [Int] = []
        let outcome = bytes.withUnsafeBytes { buffer in
            Result { () throws(ArchiveError) in try tar.consume(buffer) { sizes.append($0.size) } }
        }
        try outcome.get()
        try tar.finish()
        return sizes
    }

    // Found reading the scanner, confirmed with the tar fuzz target (FUZZING.md): a size of Int.max trapped on
    // adding its padding.
    @Test("a GNU base-256 size of Int.max is corrupt, not an arithmetic overflow")
    func baseTwoFiftySixSize() {
        let size: [UInt8] = [0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        let error = #expect(throws: ArchiveError.self) {
            try scan(header(name: "bin/myapp", size: size) + [UInt8](repeating: 0, count: 1024))
        }
        #expect(error?.code == .corruptTar)
        #expect(error?.detail.contains("bin/myapp claims 9223372036854775807 bytes") == true)
    }

    @Test("a pax size of Int.max is corrupt, not an arithmetic overflow")
    func paxSize() {
        let record = Array("28 size=9223372036854775807\n".utf8)
        var data = record
        data += [UInt8](repeating: 0, count: 512 - record.count)
        let archive = header(name: "PaxHeaders/myapp", type: "x", size: octalSize(record.count)) + data
            + header(name: "bin/myapp", size: octalSize(0)) + [UInt8](repeating: 0, count: 1024)
        let error = #expect(throws: ArchiveError.self) { try scan(archive) }
        #expect(error?.code == .corruptTar)
    }

    @Test("an ordinary size still reads")
    func ordinarySize() throws {
        let archive = header(name: "bin/myapp", size: octalSize(5)) + Array("hello".utf8)
            + [UInt8](repeating: 0, count: 507 + 1024)
        #expect(try scan(archive) == [5])
    }
}
