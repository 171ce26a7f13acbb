import Foundation
import Testing

@testable import ReleaseSupervisor

/// The streaming gunzip and tar scanner on their own, fed in pieces of various sizes.
@Suite("Tarball reading")
struct ArchiveReaderTests {
    /// Gunzips `data` fed `chunk` bytes at a time and walks it as tar; returns the entries' paths and kinds.
    private func scan(_ data: Data, chunk: Int) throws(ArchiveError) -> [TarEntry] {
        var gzip = try GzipDecoder(windowSize: 4096)
        var tar = TarScanner()
        var entries: [TarEntry] = []
        let bytes = [UInt8](data)
        var offset = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunk, 1), alignment: 1)
        defer { buffer.deallocate() }
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            buffer.copyBytes(from: bytes[offset..<end])
            try gzip.decompress(UnsafeRawBufferPointer(rebasing: buffer[0..<(end - offset)])) {
                (output) throws(ArchiveError) in
                try tar.consume(output) { entries.append($0) }
            }
            offset = end
        }
        try gzip.finish()
        try tar.finish()
        return entries
    }

    private func tarball(_ scratch: TemporaryDirectory, format: String, files: [String: String]) throws -> Data {
        let path = try SyntheticTarball.make(
            name: "shop", version: "1.0.0", in: scratch, extraFiles: files, tarOptions: ["--format=\(format)"],
            fileName: "\(format)-\(UUID().uuidString).tar.gz")
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test(
        "ustar, GNU and pax archives give the same entries, whatever the piece size",
        arguments: ["ustar", "gnu", "pax"])
    func formats(format: String) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        // 150 characters: beyond the 100 of a plain name, so each format stores it its own way.
        let longPath = "lib/" + String(repeating: "deep_directory/", count: 9) + "file.beam"
        let data = try tarball(
            scratch, format: format, files: [longPath: "beam", "lib/large.bin": String(repeating: "z", count: 70_000)])
        let whole = try scan(data, chunk: data.count)
        #expect(
            Set(whole.map(\.path)) == ["bin/shop", "releases/1.0.0/start.boot", "releases/start_erl.data", longPath, "lib/large.bin"])
        #expect(whole.first { $0.path == "lib/large.bin" }?.size == 70_000)
        #expect(whole.first { $0.path == "bin/shop" }.map { $0.mode & 0o111 != 0 } == true)
        for chunk in [1, 7, 511, 513] {
            #expect(try scan(data, chunk: chunk) == whole, "pieces of \(chunk)")
        }
    }

    @Test("concatenated gzip members read as one stream; zero padding after the end is ignored")
    func membersAndPadding() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        // Split the raw tar in two and gzip each half on its own, as `cat a.gz b.gz` would join them.
        let raw = try gunzip(try tarball(scratch, format: "ustar", files: [:]), scratch)
        let split = raw.count / 2
        let joined =
            try SyntheticTarball.gzip(raw.prefix(split), in: scratch)
            + SyntheticTarball.gzip(raw.suffix(from: split), in: scratch) + Data(count: 100)
        #expect(try scan(joined, chunk: 3).count == 3)
    }

    @Test("data after the gzip stream, a damaged stream and non-gzip input are told apart")
    func damage() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let good = try tarball(scratch, format: "ustar", files: [:])
        #expect(
            throws: ArchiveError(.corruptCompression, "data follows the end of the gzip stream at byte \(good.count)")
        ) {
            try scan(good + Data("junk".utf8), chunk: 64)
        }
        // A flipped bit in the deflate data shows as bad compression or, when it still inflates, as a bad tar
        // header; in the CRC-32 trailer only gzip can see it.
        var flipped = good
        flipped[flipped.count / 2] ^= 0xFF
        let damaged = try #require(throws: ArchiveError.self) { try scan(flipped, chunk: 64) }
        #expect(damaged.code == .corruptCompression || damaged.code == .corruptTar)
        var badCRC = good
        badCRC[badCRC.count - 8] ^= 0x01
        let crc = try #require(throws: ArchiveError.self) { try scan(badCRC, chunk: 64) }
        #expect(crc.code == .corruptCompression)
        #expect(crc.detail.contains("incorrect data check"))
        let notGzip = try #require(throws: ArchiveError.self) { try scan(Data("hello, world".utf8), chunk: 64) }
        #expect(notGzip.code == .notGzip)
        let empty = try #require(throws: ArchiveError.self) { try scan(Data(), chunk: 64) }
        #expect(empty.code == .truncated)
    }

    @Test("a tar archive without its end marker is truncated; a header with a bad checksum is corrupt")
    func tarDamage() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let raw = try gunzip(try tarball(scratch, format: "ustar", files: [:]), scratch)
        // Everything up to the end of the last member's data: a valid gzip stream of an unfinished archive.
        var end = raw.count
        while end > 0 && raw[end - 1] == 0 { end -= 1 }
        let cut = (end + 511) / 512 * 512
        let unfinished = try #require(throws: ArchiveError.self) {
            try scan(try SyntheticTarball.gzip(raw.prefix(cut), in: scratch), chunk: 100)
        }
        #expect(unfinished.code == .truncated)
        var badHeader = raw
        badHeader[10] ^= 0x01
        let corrupt = try #require(throws: ArchiveError.self) {
            try scan(try SyntheticTarball.gzip(badHeader, in: scratch), chunk: 100)
        }
        #expect(corrupt.code == .corruptTar)
        #expect(corrupt.detail.contains("byte 0"))
    }

    @Test("links out of the release and device nodes are unsafe; links inside are fine")
    func links() throws {
        var links = TarLinks()
        #expect(links.resolve(["lib", "a", "..", "b", "file"]) == ["lib", "b", "file"])
        #expect(links.resolve(["lib", "..", "..", "etc"]) == nil)
        // Links resolve against the links already seen, as tar follows them while extracting.
        links.add(["a"], target: ".")
        #expect(links.resolve(["a", "a", "a"]) == [])
        #expect(links.resolve(["a", "a", "a", "..", ".."]) == nil)
        links.add(["lib", "up"], target: "../bin")
        #expect(links.resolve(["lib", "up", "tool"]) == ["bin", "tool"])
        links.add(["loop"], target: "loop")
        #expect(links.resolve(["loop", "x"]) == nil)
        #expect(TarPath.safeComponents("./bin//shop") == ["bin", "shop"])
        #expect(TarPath.safeComponents("bin/../../x") == nil)
        #expect(TarPath.safeComponents("/etc/passwd") == nil)
    }

    @Test("pax records are parsed by their length prefix")
    func paxRecords() throws {
        let text = "29 path=lib/a very long name\n20 linkpath=target/\n"
        let records = try TarScanner.paxRecords(Array(text.utf8), at: 0)
        #expect(records == ["path": "lib/a very long name", "linkpath": "target/"])
        #expect(throws: ArchiveError.self) { try TarScanner.paxRecords(Array("99 path=x\n".utf8), at: 0) }
    }

    private func gunzip(_ data: Data, _ scratch: TemporaryDirectory) throws -> Data {
        let path = scratch.file("gunzip-\(UUID().uuidString).gz")
        try data.write(to: URL(fileURLWithPath: path))
        let (status, log) = try runCommand("/bin/gzip", ["-d", path])
        guard status == 0 else { throw FixtureError("gzip -d failed: \(log)") }
        return try Data(contentsOf: URL(fileURLWithPath: String(path.dropLast(3))))
    }
}
