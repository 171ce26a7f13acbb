/// Decodes the external term format (erl_ext_dist) into `Term` values.
///
/// Input is treated as untrusted: every length is checked against the bytes that remain before
/// anything is allocated, nesting is bounded, the number of terms one decode makes is bounded, and
/// compressed terms inflate into a buffer no larger than `Limits.maximumInflatedSize` (nor than their
/// bytes can inflate to). Bad input always ends in a `TermDecodingError`.
///
/// Memory follows from that: each term decoded takes 24 bytes plus what it holds, and every element of
/// a list, tuple or map takes at least one byte of input, so a long list of `[]` costs 24 times its
/// size; `maximumTerms` caps that, whatever the input's size, and is charged before room is reserved.
public struct TermDecoder: Sendable {
    /// Bounds on what one decode may cost.
    public struct Limits: Sendable {
        /// How deeply lists, tuples and maps may nest.
        ///
        /// Decoding recurses once per level, and a level takes up to about 7 KiB of stack in a debug build
        /// (much less optimised): the default of 128 fits in 1 MiB, well inside any thread's stack.
        public var maximumDepth: Int
        /// The largest declared size a compressed term may inflate to, in bytes.
        public var maximumInflatedSize: Int
        /// How many terms (elements of lists, tuples and maps, at any depth) one decode may make.
        ///
        /// The default, about a million, is 24 MiB of terms: ten times the longest reply seen in control
        /// traffic (`lists:seq(1, 100000)` in the tests), and a bound on what one message can cost us.
        public var maximumTerms: Int

        /// Creates limits; the defaults suit control traffic (replies of a few megabytes at most).
        public init(maximumDepth: Int = 128, maximumInflatedSize: Int = 8 << 20, maximumTerms: Int = 1 << 20) {
            self.maximumDepth = maximumDepth
            self.maximumInflatedSize = maximumInflatedSize
            self.maximumTerms = maximumTerms
        }
    }

    /// The bounds this decoder enforces.
    public var limits: Limits

    /// Creates a decoder with the given limits.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Decodes one term that starts with the version byte (as `term_to_binary/1` makes) and fills `bytes`.
    ///
    /// - Throws: `TermDecodingError` for truncated, malformed or oversized input, or trailing bytes.
    public func decode(_ bytes: [UInt8]) throws(TermDecodingError) -> Term {
        var reader = ByteReader(bytes)
        let term = try decodeVersioned(from: &reader)
        guard reader.isAtEnd else {
            throw TermDecodingError(.trailingBytes, at: reader.position, "\(reader.remaining) bytes follow the term")
        }
        return term
    }

    /// Decodes one versioned term at the reader's position, leaving the reader after it.
    func decodeVersioned(from reader: inout ByteReader) throws(TermDecodingError) -> Term {
        reader.termsLeft = limits.maximumTerms
        let start = reader.position
        let version = try reader.readByte()
        guard version == ExternalTag.version else {
            throw TermDecodingError(.badVersion, at: start, "expected version byte 131, found \(version)")
        }
        guard reader.remaining > 0, reader.bytes[reader.position] == ExternalTag.compressed else {
            return try decodeTerm(from: &reader, depth: 0)
        }
        return try decodeCompressed(from: &reader)
    }

    private func decodeCompressed(from reader: inout ByteReader) throws(TermDecodingError) -> Term {
        try reader.skip(1)
        let declared = Int(try reader.readUInt32())
        guard declared <= limits.maximumInflatedSize else {
            throw TermDecodingError(
                .compression, at: reader.position,
                "compressed term declares \(declared) bytes, over the limit of \(limits.maximumInflatedSize)")
        }
        // Deflate codes at best 258 bytes in 2 bits, so no stream inflates more than 1,032-fold: a larger
        // declared size is a lie, refused before its buffer is allocated.
        guard declared <= reader.remaining * 1032 else {
            throw TermDecodingError(
                .compression, at: reader.position,
                "compressed term declares \(declared) bytes, more than its \(reader.remaining) bytes can inflate to")
        }
        let (inflated, consumed) = try Inflater.inflate(
            reader.bytes[reader.position...], expectedSize: declared)
        try reader.skip(consumed)
        var inner = ByteReader(inflated)
        inner.termsLeft = reader.termsLeft
        let term = try decodeTerm(from: &inner, depth: 0)
        guard inner.isAtEnd else {
            throw TermDecodingError(.trailingBytes, at: reader.position, "bytes follow the term inside compressed data")
        }
        return term
    }

    // The one recursive function: each container passes depth + 1.
    private func decodeTerm(from reader: inout ByteReader, depth: Int) throws(TermDecodingError) -> Term {
        guard depth <= limits.maximumDepth else {
            throw TermDecodingError(.tooDeep, at: reader.position, "terms nest deeper than \(limits.maximumDepth)")
        }
        let tagOffset = reader.position
        let tag = try reader.readByte()
        switch tag {
        case ExternalTag.smallInteger:
            return .integer(Int(try reader.readByte()))
        case ExternalTag.integer:
            return .integer(Int(Int32(bitPattern: try reader.readUInt32())))
        case ExternalTag.smallBig:
            return try decodeBig(from: &reader, count: Int(try reader.readByte()))
        case ExternalTag.largeBig:
            return try decodeBig(from: &reader, count: Int(try reader.readUInt32()))
        case ExternalTag.newFloat:
            let value = Double(bitPattern: try reader.readUInt64())
            guard value.isFinite else {
                throw TermDecodingError(.invalidValue, at: tagOffset, "float is not finite")
            }
            return .float(value)
        case ExternalTag.float:
            return try decodeOldFloat(from: &reader, at: tagOffset)
        case ExternalTag.atomUTF8, ExternalTag.smallAtomUTF8, ExternalTag.atom, ExternalTag.smallAtom:
            return .atom(try decodeAtomBody(tag: tag, from: &reader, at: tagOffset))
        case ExternalTag.binary:
            return .binary(try reader.readBytes(Int(try reader.readUInt32())))
        case ExternalTag.bitBinary:
            return try decodeBitBinary(from: &reader, at: tagOffset)
        case ExternalTag.nil:
            return .list([])
        case ExternalTag.string:
            let count = Int(try reader.readUInt16())
            try reader.ensureRemaining(count, for: "string")
            try charge(count, for: "string", at: tagOffset, in: &reader)
            return .list(try reader.readBytes(count).map { .integer(Int($0)) })
        case ExternalTag.list:
            return try decodeList(from: &reader, depth: depth)
        case ExternalTag.smallTuple:
            return .tuple(try decodeElements(Int(try reader.readByte()), from: &reader, depth: depth))
        case ExternalTag.largeTuple:
            return .tuple(try decodeElements(Int(try reader.readUInt32()), from: &reader, depth: depth))
        case ExternalTag.map:
            return try decodeMap(from: &reader, depth: depth)
        case ExternalTag.newPid, ExternalTag.pid:
            let node = try decodeAtom(from: &reader)
            let id = try reader.readUInt32()
            let serial = try reader.readUInt32()
            let creation = tag == ExternalTag.newPid ? try reader.readUInt32() : UInt32(try reader.readByte())
            return .pid(Pid(node: node, id: id, serial: serial, creation: creation))
        case ExternalTag.newPort, ExternalTag.port, ExternalTag.v4Port:
            let node = try decodeAtom(from: &reader)
            let id = tag == ExternalTag.v4Port ? try reader.readUInt64() : UInt64(try reader.readUInt32())
            let creation = tag == ExternalTag.port ? UInt32(try reader.readByte()) : try reader.readUInt32()
            return .port(PortID(node: node, id: id, creation: creation))
        case ExternalTag.newerReference, ExternalTag.newReference:
            let count = Int(try reader.readUInt16())
            guard (1...5).contains(count) else {
                throw TermDecodingError(.invalidValue, at: tagOffset, "reference has \(count) id words, expected 1 to 5")
            }
            let node = try decodeAtom(from: &reader)
            let creation = tag == ExternalTag.newerReference ? try reader.readUInt32() : UInt32(try reader.readByte())
            var ids: [UInt32] = []
            ids.reserveCapacity(count)
            for _ in 0..<count { ids.append(try reader.readUInt32()) }
            return .reference(Reference(node: node, creation: creation, ids: ids))
        case ExternalTag.reference:
            let node = try decodeAtom(from: &reader)
            let id = try reader.readUInt32()
            let creation = UInt32(try reader.readByte())
            return .reference(Reference(node: node, creation: creation, ids: [id]))
        case ExternalTag.export:
            let module = try decodeAtom(from: &reader)
            let function = try decodeAtom(from: &reader)
            guard try reader.readByte() == ExternalTag.smallInteger else {
                throw TermDecodingError(.invalidValue, at: tagOffset, "export fun arity is not a small integer")
            }
            let arity = Int(try reader.readByte())
            var encoded: [UInt8] = [ExternalTag.export]
            for atom in [module, function] {
                let name = Array(atom.name.utf8)
                guard name.count <= 255 else {
                    throw TermDecodingError(.invalidValue, at: tagOffset, "export fun names an over-long atom")
                }
                encoded += [ExternalTag.smallAtomUTF8, UInt8(name.count)] + name
            }
            encoded += [ExternalTag.smallInteger, UInt8(arity)]
            return .fun(Fun(kind: .export(function: function), module: module, arity: arity, encoded: encoded))
        case ExternalTag.newFun:
            return try decodeLocalFun(from: &reader, at: tagOffset, depth: depth)
        case ExternalTag.compressed:
            throw TermDecodingError(.compression, at: tagOffset, "compressed term nested inside a term")
        case ExternalTag.atomCacheReference:
            throw TermDecodingError(.unknownTag, at: tagOffset, "atom cache reference, but no atom cache was agreed")
        default:
            throw TermDecodingError(.unknownTag, at: tagOffset, "unknown or unsupported tag \(tag)")
        }
    }

    private func decodeBig(from reader: inout ByteReader, count: Int) throws(TermDecodingError) -> Term {
        let sign = try reader.readByte()
        let magnitude = try reader.readBytes(count)
        guard sign <= 1 else {
            throw TermDecodingError(.invalidValue, at: reader.position, "big integer sign byte is \(sign)")
        }
        return .integer(BigInteger(isNegative: sign == 1, magnitude: magnitude))
    }

    private func decodeOldFloat(from reader: inout ByteReader, at offset: Int) throws(TermDecodingError) -> Term {
        let bytes = try reader.readBytes(31)
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingSpaces
        guard let value = Double(text), value.isFinite else {
            throw TermDecodingError(.invalidValue, at: offset, "float text is not a finite number")
        }
        return .float(value)
    }

    private func decodeBitBinary(from reader: inout ByteReader, at offset: Int) throws(TermDecodingError) -> Term {
        let length = Int(try reader.readUInt32())
        let bits = try reader.readByte()
        let bytes = try reader.readBytes(length)
        if bytes.isEmpty || bits == 8 { return .binary(bytes) }
        guard let value = BitBinary(bytes: bytes, bitsInLastByte: bits) else {
            throw TermDecodingError(.invalidValue, at: offset, "bitstring uses \(bits) bits of its last byte")
        }
        return .bitBinary(value)
    }

    private func decodeList(from reader: inout ByteReader, depth: Int) throws(TermDecodingError) -> Term {
        // A sender may split a list, its tail being another list: the pieces are read in this loop into one
        // array, so that equal lists compare equal however they were split, and neither the stack nor the
        // copying grows with the number of pieces.
        var elements: [Term] = []
        repeat {
            let offset = reader.position
            let count = Int(try reader.readUInt32())
            try reader.ensureRemaining(count + 1, for: "list")
            try charge(count, for: "list", at: offset, in: &reader)
            if elements.isEmpty { elements.reserveCapacity(count) }  // Later pieces grow it geometrically.
            for _ in 0..<count { elements.append(try decodeTerm(from: &reader, depth: depth + 1)) }
        } while reader.skip(ifNext: ExternalTag.list)
        if reader.skip(ifNext: ExternalTag.nil) { return .list(elements) }
        let tail = try decodeTerm(from: &reader, depth: depth + 1)
        switch tail {
        case .list(let rest): return .list(elements + rest)  // A string: at most 65,535 elements.
        case _ where elements.isEmpty: return tail
        default: return .improperList(elements, tail: tail)
        }
    }

    private func decodeElements(
        _ count: Int, from reader: inout ByteReader, depth: Int
    ) throws(TermDecodingError) -> [Term] {
        try reader.ensureRemaining(count, for: "sequence")
        try charge(count, for: "sequence", at: reader.position, in: &reader)
        var elements: [Term] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try decodeTerm(from: &reader, depth: depth + 1)) }
        return elements
    }

    /// Takes `count` terms from what the decode may still make, before any room is reserved for them.
    private func charge(
        _ count: Int, for what: String, at offset: Int, in reader: inout ByteReader
    ) throws(TermDecodingError) {
        guard count <= reader.termsLeft else {
            throw TermDecodingError(
                .tooManyTerms, at: offset,
                "\(what) of \(count) would take the term past the limit of \(limits.maximumTerms) terms")
        }
        reader.termsLeft -= count
    }

    private func decodeMap(from reader: inout ByteReader, depth: Int) throws(TermDecodingError) -> Term {
        let offset = reader.position
        let count = Int(try reader.readUInt32())
        try reader.ensureRemaining(count * 2, for: "map")
        try charge(count * 2, for: "map", at: offset, in: &reader)
        var entries: [Term: Term] = [:]
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let key = try decodeTerm(from: &reader, depth: depth + 1)
            let value = try decodeTerm(from: &reader, depth: depth + 1)
            guard entries.updateValue(value, forKey: key) == nil else {
                throw TermDecodingError(.invalidValue, at: offset, "map repeats the key \(key)")
            }
        }
        return .map(entries)
    }

    private func decodeLocalFun(
        from reader: inout ByteReader, at offset: Int, depth: Int
    ) throws(TermDecodingError) -> Term {
        let size = Int(try reader.readUInt32())
        let fixedPart = 4 + 1 + 16 + 4 + 4
        guard size >= fixedPart, size - 4 <= reader.remaining else {
            throw TermDecodingError(.lengthExceedsInput, at: offset, "fun declares \(size) bytes")
        }
        let arity = Int(try reader.readByte())
        let uniqueAndIndex = try reader.readBytes(16 + 4)  // Meaningful only to the node that holds the code.
        let freeCount = Int(try reader.readUInt32())
        let module = try decodeAtom(from: &reader)
        let oldIndex = try decodeTerm(from: &reader, depth: depth + 1)
        let oldUnique = try decodeTerm(from: &reader, depth: depth + 1)
        guard case .integer = oldIndex, case .integer = oldUnique else {
            throw TermDecodingError(.invalidValue, at: offset, "fun old index or old uniq is not an integer")
        }
        let creator = try decodeTerm(from: &reader, depth: depth + 1)
        guard case .pid = creator else {
            throw TermDecodingError(.invalidValue, at: offset, "fun creator is not a pid")
        }
        let freeVariables = try decodeElements(freeCount, from: &reader, depth: depth)
        guard reader.position == offset + 1 + size else {
            throw TermDecodingError(.invalidValue, at: offset, "fun size \(size) does not match its contents")
        }
        // Keep the fun in our own encoding of its parts, so that equal funs compare equal however
        // the sender encoded atoms and integers inside them.
        var encoded: [UInt8] = [ExternalTag.newFun, 0, 0, 0, 0, UInt8(arity)]
        encoded += uniqueAndIndex
        encoded.appendBigEndian(UInt32(freeCount))
        do {
            let encoder = TermEncoder()
            for part in [.atom(module), oldIndex, oldUnique, creator] + freeVariables {
                try encoder.append(part, to: &encoded)
            }
        } catch {
            throw TermDecodingError(.invalidValue, at: offset, "fun holds a value that cannot be re-encoded")
        }
        let total = UInt32(encoded.count - 1)
        encoded.replaceSubrange(1..<5, with: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: total >> $0) })
        return .fun(Fun(kind: .local(freeVariables: freeCount), module: module, arity: arity, encoded: encoded))
    }

    private func decodeAtom(from reader: inout ByteReader) throws(TermDecodingError) -> Atom {
        let offset = reader.position
        let tag = try reader.readByte()
        switch tag {
        case ExternalTag.atomUTF8, ExternalTag.smallAtomUTF8, ExternalTag.atom, ExternalTag.smallAtom:
            return try decodeAtomBody(tag: tag, from: &reader, at: offset)
        default:
            throw TermDecodingError(.invalidValue, at: offset, "expected an atom, found tag \(tag)")
        }
    }

    private func decodeAtomBody(
        tag: UInt8, from reader: inout ByteReader, at offset: Int
    ) throws(TermDecodingError) -> Atom {
        let isSmall = tag == ExternalTag.smallAtomUTF8 || tag == ExternalTag.smallAtom
        let length = isSmall ? Int(try reader.readByte()) : Int(try reader.readUInt16())
        let bytes = try reader.readBytes(length)
        if tag == ExternalTag.atom || tag == ExternalTag.smallAtom {
            // Latin-1: each byte is the code point.
            return Atom(String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })))
        }
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw TermDecodingError(.invalidValue, at: offset, "atom is not valid UTF-8")
        }
        return Atom(name)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
