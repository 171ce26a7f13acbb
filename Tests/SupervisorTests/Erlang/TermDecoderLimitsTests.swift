import CZlib
import Foundation
import Synchronization
import Testing

@testable import ReleaseSupervisor

/// Crafted input must cost the decoder no more memory than its limits allow, and never its stack.
@Suite("Term decoder limits on crafted input", .serialized)
struct TermDecoderLimitsTests {
    let decoder = TermDecoder()

    static func bigEndian(_ value: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }

    /// `[131, LIST_EXT, count]` followed by `count` NIL bytes and a NIL tail: a list of `count` empty lists.
    static func nilList(_ count: Int) -> [UInt8] {
        [131, 108] + bigEndian(count) + [UInt8](repeating: 106, count: count + 1)
    }

    static func code(of body: () throws -> Void) -> TermDecodingError.Code? {
        do {
            try body()
            return nil
        } catch let error as TermDecodingError {
            return error.code
        } catch {
            return nil
        }
    }

    /// The growth of this process's peak resident memory while `body` runs, in bytes.
    ///
    /// Writing 5 to `clear_refs` resets the peak (`VmHWM`) to the current resident size.
    static func peakGrowth(_ body: () throws -> Void) throws -> Int {
        func field(_ name: String) throws -> Int {
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(name) })
            return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])) * 1024
        }
        try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = try field("VmRSS:")
        try body()
        return try field("VmHWM:") - before
    }

    /// Runs `body` on a thread of its own with a stack of `stackSize` bytes, as small as a thread's may be.
    static func onThread(stackSize: Int, _ body: @escaping @Sendable () -> Bool) async -> Bool {
        let result = Result()
        let thread = Thread { result.value.store(body() ? 1 : 2, ordering: .releasing) }
        thread.stackSize = stackSize
        thread.start()
        _ = await eventually(timeout: .seconds(30), every: .milliseconds(5)) {
            result.value.load(ordering: .acquiring) != 0
        }
        return result.value.load(ordering: .acquiring) == 1
    }

    final class Result: Sendable {
        let value = Atomic<Int>(0)
    }

    @Test("a 4 MB list of [] is refused before anything is allocated for it")
    func nilListRefused() throws {
        let bytes = Self.nilList(4 << 20)
        var code: TermDecodingError.Code?
        let growth = try Self.peakGrowth { code = Self.code { _ = try decoder.decode(bytes) } }
        #expect(code == .tooManyTerms)
        #expect(growth < 8 << 20, "peak memory grew by \(growth >> 20) MiB")
    }

    @Test("a long list of [] within the limit costs its terms once, not a copy of them")
    func nilListDecodedOnce() throws {
        let count = 2 << 20
        let bytes = Self.nilList(count)
        let roomy = TermDecoder(limits: .init(maximumTerms: 4 << 20))
        var elements = 0
        let growth = try Self.peakGrowth { elements = (try roomy.decode(bytes)).listElements?.count ?? 0 }
        #expect(elements == count)
        // 24 bytes a term: 48 MiB; copying the array for its tail took it to 96 MiB.
        #expect(growth < 72 << 20, "peak memory grew by \(growth >> 20) MiB")
    }

    @Test("counts beyond the bytes that remain are refused before anything is allocated")
    func countsBeyondInput() {
        let payload = [UInt8](repeating: 106, count: 1000)
        let cases: [(name: String, bytes: [UInt8])] = [
            ("list", [131, 108] + Self.bigEndian(1001) + payload),
            ("tuple", [131, 105] + Self.bigEndian(1001) + payload),
            ("small tuple", [131, 104, 255] + payload.prefix(200)),
            ("map", [131, 116] + Self.bigEndian(501) + payload),
            ("string", [131, 107, 0x03, 0xE9] + payload),
            ("binary", [131, 109] + Self.bigEndian(1001) + payload),
            ("bit binary", [131, 77] + Self.bigEndian(1001) + [8] + payload),
            ("atom", [131, 118, 0x03, 0xE9] + payload),
            ("small atom", [131, 119, 255] + payload.prefix(200)),
            ("small big", [131, 110, 255, 0] + payload.prefix(200)),
            ("large big", [131, 111] + Self.bigEndian(1001) + [0] + payload),
            ("fun", [131, 112] + Self.bigEndian(1005) + payload),  // Its size counts its own 4 bytes.
        ]
        for (name, bytes) in cases {
            let code = Self.code { _ = try decoder.decode(bytes) }
            #expect(code == .lengthExceedsInput || code == .truncated, "\(name): \(String(describing: code))")
        }
    }

    @Test("containers whose elements fit the input but pass the limit of terms are refused before reserving room")
    func countsBeyondTermLimit() throws {
        let count = (1 << 20) + 1
        let nils = [UInt8](repeating: 106, count: 2 * count)
        let tuple = [131, 105] + Self.bigEndian(count) + nils.prefix(count)
        let map = [131, 116] + Self.bigEndian(count / 2 + 1) + nils.prefix(count + 1)
        // A list split in pieces whose sum passes the limit.
        let half = count / 2 + 1
        let pieces = [131, 108] + Self.bigEndian(half) + nils.prefix(half) + [108] + Self.bigEndian(half)
            + nils.prefix(half + 1)
        for (name, bytes) in [("tuple", tuple), ("map", map), ("list pieces", pieces)] {
            var code: TermDecodingError.Code?
            let growth = try Self.peakGrowth { code = Self.code { _ = try decoder.decode(bytes) } }
            #expect(code == .tooManyTerms, "\(name): \(String(describing: code))")
            #expect(growth < 40 << 20, "\(name): peak memory grew by \(growth >> 20) MiB")
        }
        // Terms inside a compressed term count the same.
        let inflated = try TermEncoder().encode(.list(Array(repeating: .list([]), count: count)))
        let compressed = try #require(Self.compress(inflated))
        #expect(compressed.count < 20_000)
        #expect(Self.code { _ = try decoder.decode(compressed) } == .tooManyTerms)
    }

    @Test("a compressed term that declares more than its bytes can inflate to is refused before inflating")
    func compressedLie() throws {
        let bytes: [UInt8] = [131, 80] + Self.bigEndian(8 << 20) + [120, 156, 75, 4, 0, 0, 98, 0, 98]
        do {
            _ = try decoder.decode(bytes)
            Issue.record("decoded")
        } catch {
            #expect(error.code == .compression)
            #expect(error.detail.contains("can inflate to"), "\(error)")
        }
    }

    @Test("a list sent in a hundred thousand pieces decodes as one, without nesting")
    func listInPieces() throws {
        var bytes: [UInt8] = [131]
        for index in 0..<100_000 { bytes += [108, 0, 0, 0, 1, 97, UInt8(index % 256)] }
        bytes.append(106)
        let list = try decoder.decode(bytes)
        #expect(list == .list((0..<100_000).map { .integer($0 % 256) }))
        var improper = Array(bytes.dropLast())
        improper += [100, 0, 1, 120]  // ... | x]
        let expected = Term.improperList((0..<100_000).map { .integer($0 % 256) }, tail: "x")
        #expect(try decoder.decode(improper) == expected)
    }

    @Test("nesting of every kind is refused past the depth limit, and decodes at it on a 1 MiB stack")
    func nesting() async throws {
        let depth = TermDecoder.Limits().maximumDepth
        // Each kind opens `levels` levels with `prefix` and closes them with `suffix`, around an atom.
        let kinds: [(name: String, prefix: [UInt8], suffix: [UInt8], levels: Int)] = [
            ("tuple", [104, 1], [], 1),
            ("list element", [108, 0, 0, 0, 1], [106], 1),
            ("improper tail", [108, 0, 0, 0, 1, 97, 1, 104, 1], [], 2),  // [1 | {...}]
            ("map value", [116, 0, 0, 0, 1, 97, 1], [], 1),
        ]
        for (name, prefix, suffix, levels) in kinds {
            func nested(_ levels: Int) -> [UInt8] {
                [131] + Array([[UInt8]](repeating: prefix, count: levels).joined()) + [100, 0, 1, 120]
                    + Array([[UInt8]](repeating: suffix, count: levels).joined())
            }
            let atLimit = nested(depth / levels)
            let decoder = decoder
            let decoded = await Self.onThread(stackSize: 1 << 20) { (try? decoder.decode(atLimit)) != nil }
            #expect(decoded, "\(name): \(depth) levels")
            let deep = nested(100_000)
            let refused = await Self.onThread(stackSize: 1 << 20) {
                Self.code { _ = try decoder.decode(deep) } == .tooDeep
            }
            #expect(refused, "\(name): 100,000 levels")
        }
    }

    @Test("a bignum of a megabyte decodes, and a log line shows its size instead of a million digits")
    func hugeBignum() throws {
        let magnitude = [UInt8](repeating: 0xA5, count: 1 << 20)
        let term = try decoder.decode([131, 111] + Self.bigEndian(magnitude.count) + [1] + magnitude)
        #expect(term == .bigInteger(BigInteger(isNegative: true, magnitude: magnitude)))
        let started = ContinuousClock.now
        #expect(String(describing: Term.tuple("badrpc", term)) == "{badrpc,<integer of 1048576 bytes>}")
        #expect(ContinuousClock.now - started < .seconds(1))
        let small = "-123456789012345678901234567890"
        #expect(String(describing: Term.integer(BigInteger(small)!)) == small)
    }

    /// What `term_to_binary(Term, [compressed])` makes of a term already encoded as `encoded`.
    static func compress(_ encoded: [UInt8]) -> [UInt8]? {
        let body = Array(encoded.dropFirst())  // Without the version byte.
        var length = compressBound(uLong(body.count))
        var deflated = [UInt8](repeating: 0, count: Int(length))
        guard compress2(&deflated, &length, body, uLong(body.count), 9) == Z_OK else { return nil }
        return [131, 80] + bigEndian(body.count) + deflated.prefix(Int(length))
    }
}
