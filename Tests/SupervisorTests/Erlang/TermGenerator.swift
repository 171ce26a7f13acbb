@testable import ReleaseSupervisor

/// A seeded random number generator (SplitMix64), so failures can be replayed from the seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Random terms of every kind the encoder produces, for round-trip properties.
struct TermGenerator {
    var random: SeededGenerator
    /// Node names used in pids, references and ports; an echo test passes the real node's name here.
    var nodes: [Atom] = ["a@host", "node_b@127.0.0.1"]

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func term(depth: Int = 3) -> Term {
        let leafKinds = 12
        let kind = Int.random(in: 0..<(depth > 0 ? leafKinds + 5 : leafKinds), using: &random)
        switch kind {
        case 0: return .atom(atom())
        case 1: return .integer(Int.random(in: -300...300, using: &random))
        case 2: return .integer(Int.random(in: Int.min...Int.max, using: &random))
        case 3: return .integer(bigInteger())
        case 4:
            let value = Double(bitPattern: random.next())
            return .float(value.isFinite ? value : Double.random(in: -1e9...1e9, using: &random))
        case 5: return .binary(bytes(maximum: 40))
        case 6:
            let content = bytes(maximum: 8)
            let bits = UInt8.random(in: 1...7, using: &random)
            return BitBinary(bytes: content.isEmpty ? [0xAB] : content, bitsInLastByte: bits).map { .bitBinary($0) }!
        case 7: return .list(bytes(maximum: 30).map { .integer(Int($0)) })  // goes out as STRING_EXT
        case 8: return .pid(Pid(node: node(), id: word(), serial: word(), creation: word()))
        case 9:
            let ids = (0..<Int.random(in: 1...5, using: &random)).map { _ in word() }
            return .reference(Reference(node: node(), creation: word(), ids: ids))
        case 10:
            let id = Bool.random(using: &random) ? UInt64(word()) : random.next()
            return .port(PortID(node: node(), id: id, creation: word()))
        case 11: return .list([])
        case 12: return .list(children(depth: depth, maximum: 6))
        case 13:
            var elements = children(depth: depth, maximum: 4)
            if elements.isEmpty { elements = [term(depth: 0)] }
            var tail = term(depth: 0)
            while case .list = tail { tail = term(depth: 0) }
            if case .improperList = tail { tail = .integer(1) }
            return .improperList(elements, tail: tail)
        case 14: return .tuple(children(depth: depth, maximum: 6))
        case 15:
            var entries: [Term: Term] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                entries[term(depth: depth - 1)] = term(depth: depth - 1)
            }
            return .map(entries)
        default:
            return .tuple((0..<Int.random(in: 256...300, using: &random)).map { .integer($0) })  // LARGE_TUPLE
        }
    }

    mutating func atom() -> Atom {
        let alphabet = Array("abcxyz_ABC09é✓ü@.")
        let length = Int.random(in: 0...12, using: &random)
        return Atom(String((0..<length).map { _ in alphabet.randomElement(using: &random)! }))
    }

    private mutating func node() -> Atom { nodes.randomElement(using: &random)! }

    private mutating func word() -> UInt32 { UInt32.random(in: 0...UInt32.max, using: &random) }

    private mutating func bytes(maximum: Int) -> [UInt8] {
        (0..<Int.random(in: 0...maximum, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    private mutating func bigInteger() -> BigInteger {
        let magnitude = bytes(maximum: 40) + [UInt8.random(in: 1...255, using: &random)]
        let padded = magnitude.count < 9 ? magnitude + [0, 0, 0, 0, 0, 0, 0, 0, 1] : magnitude
        return BigInteger(isNegative: Bool.random(using: &random), magnitude: padded)
    }

    private mutating func children(depth: Int, maximum: Int) -> [Term] {
        (0..<Int.random(in: 0...maximum, using: &random)).map { _ in term(depth: depth - 1) }
    }
}

/// Bytes made by Erlang's `term_to_binary/1` on OTP 25.
enum ErlangVectors {
    /// `fun(X) -> X + 1 end` typed in the shell: an erl_eval closure with one free variable.
    static let shellClosure: [UInt8] = [
        131, 112, 0, 0, 0, 189, 1, 6, 83, 97, 170, 70, 21, 144, 209, 189, 241, 235, 98, 209, 166, 235, 8, 0, 0, 0,
        42, 0, 0, 0, 1, 100, 0, 8, 101, 114, 108, 95, 101, 118, 97, 108, 97, 42, 98, 0, 50, 155, 13, 88, 100, 0,
        13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115, 116, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0,
        104, 6, 97, 6, 106, 100, 0, 4, 110, 111, 110, 101, 100, 0, 4, 110, 111, 110, 101, 116, 0, 0, 0, 0, 108,
        0, 0, 0, 1, 104, 5, 100, 0, 6, 99, 108, 97, 117, 115, 101, 97, 6, 108, 0, 0, 0, 1, 104, 3, 100, 0, 3,
        118, 97, 114, 97, 6, 100, 0, 1, 88, 106, 106, 108, 0, 0, 0, 1, 104, 5, 100, 0, 2, 111, 112, 97, 6, 100,
        0, 1, 43, 104, 3, 100, 0, 3, 118, 97, 114, 97, 6, 100, 0, 1, 88, 104, 3, 100, 0, 7, 105, 110, 116, 101,
        103, 101, 114, 97, 6, 97, 1, 106, 106,
    ]
}
