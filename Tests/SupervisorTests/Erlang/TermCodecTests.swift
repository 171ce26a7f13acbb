import Testing

@testable import ReleaseSupervisor

@Suite("External term format")
struct TermCodecTests {
    let encoder = TermEncoder()
    let decoder = TermDecoder()

    @Test("random terms survive encode then decode", arguments: [1, 2, 3, 42, 2024] as [UInt64])
    func roundTrip(seed: UInt64) throws {
        var generator = TermGenerator(seed: seed)
        for _ in 0..<400 {
            let term = generator.term(depth: 4)
            let bytes = try encoder.encode(term)
            let decoded = try decoder.decode(bytes)
            #expect(decoded == term, "seed \(seed): \(term)")
            #expect(try encoder.encode(decoded) == bytes || isMap(term))
        }
    }

    @Test("truncated encodings fail with a typed error, never a crash")
    func truncatedInput() throws {
        var generator = TermGenerator(seed: 7)
        for _ in 0..<200 {
            let bytes = try encoder.encode(generator.term(depth: 3))
            for length in 0..<bytes.count {
                #expect(throws: TermDecodingError.self) { try decoder.decode(Array(bytes.prefix(length))) }
            }
        }
    }

    @Test("random and mutated bytes never crash the decoder")
    func randomInput() throws {
        var random = SeededGenerator(seed: 99)
        var generator = TermGenerator(seed: 100)
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = [131] + (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                bytes = try encoder.encode(generator.term(depth: 3))
                for _ in 0...Int.random(in: 0...3, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            _ = try? decoder.decode(bytes)
        }
    }

    @Test("absurd lengths are refused before anything is allocated")
    func absurdLengths() {
        let cases: [[UInt8]] = [
            [131, 108, 0xFF, 0xFF, 0xFF, 0xFF, 106],  // list of 4 billion
            [131, 105, 0xFF, 0xFF, 0xFF, 0xFF],  // tuple of 4 billion
            [131, 116, 0xFF, 0xFF, 0xFF, 0xFF],  // map of 4 billion pairs
            [131, 109, 0xFF, 0xFF, 0xFF, 0xFF, 1],  // binary of 4 GiB
            [131, 111, 0xFF, 0xFF, 0xFF, 0xFF, 0],  // bignum of 4 GiB
            [131, 80, 0xFF, 0xFF, 0xFF, 0xFF, 120, 156],  // compressed to 4 GiB
            [131, 112, 0xFF, 0xFF, 0xFF, 0xFF, 1],  // fun of 4 GiB
        ]
        for bytes in cases {
            #expect(throws: TermDecodingError.self) { try decoder.decode(bytes) }
        }
    }

    @Test("deep nesting is refused at the depth limit")
    func depthLimit() throws {
        let depth = TermDecoder.Limits().maximumDepth
        var nested: Term = .list([])
        for _ in 0..<depth { nested = .tuple([nested]) }
        #expect(try decoder.decode(try encoder.encode(nested)) == nested)
        let tooDeep = [UInt8](repeating: 104, count: 100_000).flatMap { _ in [104, 1] as [UInt8] }
        #expect(throws: TermDecodingError.self) { try decoder.decode([131] + tooDeep + [106]) }
    }

    @Test("bytes made by Erlang's term_to_binary decode to the expected terms")
    func erlangVectors() throws {
        #expect(try decoder.decode([131, 100, 0, 2, 99, 233]) == .atom("cé"))
        #expect(try decoder.decode([131, 115, 2, 111, 107]) == "ok")
        #expect(try decoder.decode([131, 107, 0, 5, 104, 101, 108, 108, 111]) == .charlist("hello"))
        #expect(try decoder.decode([131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3]) == .improperList([1, 2], tail: 3))
        #expect(try decoder.decode([131, 116, 0, 0, 0, 1, 100, 0, 1, 97, 97, 1]) == ["a": 1])
        #expect(try decoder.decode([131, 77, 0, 0, 0, 1, 3, 160]) == .bitBinary(BitBinary(bytes: [160], bitsInLastByte: 3)!))
        let oldFloat: [UInt8] = [131, 99] + Array("1.50000000000000000000e+00".utf8) + [0, 0, 0, 0, 0]
        #expect(try decoder.decode(oldFloat) == 1.5)

        let twoToThe100 = try decoder.decode([131, 110, 13, 0] + [UInt8](repeating: 0, count: 12) + [16])
        #expect(twoToThe100 == .bigInteger(BigInteger("1267650600228229401496703205376")!))
        #expect(String(describing: twoToThe100) == "1267650600228229401496703205376")
        #expect(try decoder.decode([131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128]) == .integer(Int.min))
        let maxUInt64 = try decoder.decode([131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255])
        #expect(maxUInt64 == .bigInteger(BigInteger("18446744073709551615")!))
        #expect(try decoder.decode(try encoder.encode(maxUInt64)) == maxUInt64)

        let export = try decoder.decode([131, 113, 100, 0, 5, 108, 105, 115, 116, 115, 100, 0, 3, 109, 97, 112, 97, 2])
        guard case .fun(let fun) = export else { throw FixtureError("not a fun: \(export)") }
        #expect(fun.module == "lists" && fun.arity == 2 && fun.kind == .export(function: "map"))
        #expect(try decoder.decode(try encoder.encode(export)) == export)

        let localFun = ErlangVectors.shellClosure
        let closure = try decoder.decode(localFun)
        guard case .fun(let local) = closure else { throw FixtureError("not a fun: \(closure)") }
        #expect(local.module == "erl_eval" && local.arity == 1 && local.kind == .local(freeVariables: 1))
        // Re-encoded with UTF-8 atoms; decoding that gives the same fun.
        #expect(try decoder.decode(try encoder.encode(closure)) == closure)
        var badSize = localFun
        badSize[5] = 188
        #expect(throws: TermDecodingError.self) { try decoder.decode(badSize) }

        let pid = try decoder.decode(
            [131, 88, 100, 0, 13] + Array("nonode@nohost".utf8) + [0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(pid == .pid(Pid(node: "nonode@nohost", id: 9, serial: 0, creation: 0)))
    }

    @Test("a compressed term inflates, and one that lies about its size is refused")
    func compressedTerms() throws {
        let compressed: [UInt8] = [
            131, 80, 0, 0, 11, 190, 120, 156, 237, 199, 185, 13, 0, 32, 12, 4, 193, 147, 169, 148, 39, 176, 176, 17,
            109, 82, 22, 148, 65, 176, 217, 76, 74, 58, 110, 67, 182, 99, 61, 151, 218, 58, 165, 148, 82, 74, 41, 165,
            244, 195, 206, 11, 210, 54, 139, 189,
        ]
        let expected = Term.list(Array(repeating: .tuple("ok", .binary("abc")), count: 200))
        #expect(try decoder.decode(compressed) == expected)

        var understated = compressed
        understated[5] = 100  // declares fewer bytes than the stream holds
        #expect(throws: TermDecodingError.self) { try decoder.decode(understated) }
        var overstated = compressed
        overstated[4] = 12
        #expect(throws: TermDecodingError.self) { try decoder.decode(overstated) }
        let small = TermDecoder(limits: .init(maximumInflatedSize: 1000))
        #expect(throws: TermDecodingError.self) { try small.decode(compressed) }
    }

    @Test("literals read like Erlang")
    func literals() {
        let term: Term = .tuple("ok", [1, 2.5, "atom"], ["key": .binary("value")], true)
        #expect(term.description == "{ok,[1,2.5,atom],#{key => <<\"value\">>},true}")
        #expect(Term.charlist("hi").stringValue == "hi")
        #expect(Atom("Elixir.Foo").description == "'Elixir.Foo'")
    }

    @Test("values Erlang cannot hold are refused by the encoder")
    func encodingErrors() {
        #expect(throws: TermEncodingError.self) { try encoder.encode(.float(.infinity)) }
        #expect(throws: TermEncodingError.self) { try encoder.encode(.atom(Atom(String(repeating: "é", count: 300)))) }
        #expect(throws: TermEncodingError.self) {
            try encoder.encode(.reference(Reference(node: "a@b", creation: 1, ids: [])))
        }
    }

    private func isMap(_ term: Term) -> Bool {
        // Map key order is not part of a map's value, so re-encoding may order pairs differently.
        var found = false
        func visit(_ term: Term) {
            switch term {
            case .map: found = true
            case .list(let elements), .tuple(let elements): elements.forEach(visit)
            case .improperList(let elements, let tail):
                elements.forEach(visit)
                visit(tail)
            default: break
            }
        }
        visit(term)
        return found
    }
}
