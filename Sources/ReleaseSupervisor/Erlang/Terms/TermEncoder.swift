/// Encodes `Term` values in the external term format (erl_ext_dist), as OTP 25 and later expect.
///
/// Atoms go out as UTF-8, integers in the smallest form that holds them, lists of bytes as
/// STRING_EXT, pids, ports and references in their big-creation forms.
public struct TermEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// The term with the leading version byte, as `term_to_binary/1` would produce it.
    ///
    /// - Throws: `TermEncodingError` for values Erlang cannot hold (an atom over 255 characters, a
    ///   float that is not finite, a reference with more than five words).
    public func encode(_ term: Term) throws(TermEncodingError) -> [UInt8] {
        var buffer: [UInt8] = [ExternalTag.version]
        try append(term, to: &buffer)
        return buffer
    }

    /// Appends the term, without a version byte, to `buffer`.
    func append(_ term: Term, to buffer: inout [UInt8]) throws(TermEncodingError) {
        switch term {
        case .atom(let atom):
            try append(atom, to: &buffer)
        case .integer(let value):
            appendInteger(value, to: &buffer)
        case .bigInteger(let value):
            appendBig(isNegative: value.isNegative, magnitude: value.magnitude, to: &buffer)
        case .float(let value):
            guard value.isFinite else { throw TermEncodingError("float \(value) is not finite; Erlang has no such value") }
            buffer.append(ExternalTag.newFloat)
            appendUInt64(value.bitPattern, to: &buffer)
        case .binary(let bytes):
            buffer.append(ExternalTag.binary)
            try appendLength(bytes.count, to: &buffer)
            buffer.append(contentsOf: bytes)
        case .bitBinary(let bits):
            buffer.append(ExternalTag.bitBinary)
            try appendLength(bits.bytes.count, to: &buffer)
            buffer.append(bits.bitsInLastByte)
            buffer.append(contentsOf: bits.bytes)
        case .list(let elements):
            try appendList(elements, to: &buffer)
        case .improperList(let elements, let tail):
            buffer.append(ExternalTag.list)
            try appendLength(elements.count, to: &buffer)
            for element in elements { try append(element, to: &buffer) }
            try append(tail, to: &buffer)
        case .tuple(let elements):
            if elements.count <= 255 {
                buffer.append(ExternalTag.smallTuple)
                buffer.append(UInt8(elements.count))
            } else {
                buffer.append(ExternalTag.largeTuple)
                try appendLength(elements.count, to: &buffer)
            }
            for element in elements { try append(element, to: &buffer) }
        case .map(let entries):
            buffer.append(ExternalTag.map)
            try appendLength(entries.count, to: &buffer)
            for (key, value) in entries {
                try append(key, to: &buffer)
                try append(value, to: &buffer)
            }
        case .pid(let pid):
            buffer.append(ExternalTag.newPid)
            try append(pid.node, to: &buffer)
            appendUInt32(pid.id, to: &buffer)
            appendUInt32(pid.serial, to: &buffer)
            appendUInt32(pid.creation, to: &buffer)
        case .reference(let reference):
            guard (1...5).contains(reference.ids.count) else {
                throw TermEncodingError("reference has \(reference.ids.count) words; Erlang accepts 1 to 5")
            }
            buffer.append(ExternalTag.newerReference)
            buffer.append(0)
            buffer.append(UInt8(reference.ids.count))
            try append(reference.node, to: &buffer)
            appendUInt32(reference.creation, to: &buffer)
            for id in reference.ids { appendUInt32(id, to: &buffer) }
        case .port(let port):
            if let id = UInt32(exactly: port.id) {
                buffer.append(ExternalTag.newPort)
                try append(port.node, to: &buffer)
                appendUInt32(id, to: &buffer)
            } else {
                buffer.append(ExternalTag.v4Port)
                try append(port.node, to: &buffer)
                appendUInt64(port.id, to: &buffer)
            }
            appendUInt32(port.creation, to: &buffer)
        case .fun(let fun):
            buffer.append(contentsOf: fun.encoded)
        }
    }

    private func append(_ atom: Atom, to buffer: inout [UInt8]) throws(TermEncodingError) {
        let utf8 = atom.name.utf8
        if utf8.count <= 255 {
            buffer.append(ExternalTag.smallAtomUTF8)
            buffer.append(UInt8(utf8.count))
        } else {
            guard atom.name.count <= Atom.maximumLength else {
                throw TermEncodingError("atom of \(atom.name.count) characters; Erlang accepts at most 255")
            }
            buffer.append(ExternalTag.atomUTF8)
            buffer.append(UInt8(utf8.count >> 8))
            buffer.append(UInt8(utf8.count & 0xFF))
        }
        buffer.append(contentsOf: utf8)
    }

    private func appendInteger(_ value: Int, to buffer: inout [UInt8]) {
        if (0...255).contains(value) {
            buffer.append(ExternalTag.smallInteger)
            buffer.append(UInt8(value))
        } else if let small = Int32(exactly: value) {
            buffer.append(ExternalTag.integer)
            appendUInt32(UInt32(bitPattern: small), to: &buffer)
        } else {
            var rest = value.magnitude
            var magnitude: [UInt8] = []
            while rest != 0 {
                magnitude.append(UInt8(truncatingIfNeeded: rest))
                rest >>= 8
            }
            appendBig(isNegative: value < 0, magnitude: magnitude, to: &buffer)
        }
    }

    private func appendBig(isNegative: Bool, magnitude: [UInt8], to buffer: inout [UInt8]) {
        if magnitude.count <= 255 {
            buffer.append(ExternalTag.smallBig)
            buffer.append(UInt8(magnitude.count))
        } else {
            buffer.append(ExternalTag.largeBig)
            appendUInt32(UInt32(truncatingIfNeeded: magnitude.count), to: &buffer)
        }
        buffer.append(isNegative ? 1 : 0)
        buffer.append(contentsOf: magnitude)
    }

    private func appendList(_ elements: [Term], to buffer: inout [UInt8]) throws(TermEncodingError) {
        if elements.isEmpty {
            buffer.append(ExternalTag.nil)
            return
        }
        if elements.count <= 0xFFFF, let bytes = Self.byteString(elements) {
            buffer.append(ExternalTag.string)
            buffer.append(UInt8(bytes.count >> 8))
            buffer.append(UInt8(bytes.count & 0xFF))
            buffer.append(contentsOf: bytes)
            return
        }
        buffer.append(ExternalTag.list)
        try appendLength(elements.count, to: &buffer)
        for element in elements { try append(element, to: &buffer) }
        buffer.append(ExternalTag.nil)
    }

    /// The bytes of a list whose elements are all integers 0...255, which Erlang sends as STRING_EXT.
    private static func byteString(_ elements: [Term]) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(elements.count)
        for element in elements {
            guard case .integer(let value) = element, let byte = UInt8(exactly: value) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    private func appendLength(_ count: Int, to buffer: inout [UInt8]) throws(TermEncodingError) {
        guard let length = UInt32(exactly: count) else {
            throw TermEncodingError("\(count) elements or bytes do not fit the format's 32-bit length")
        }
        appendUInt32(length, to: &buffer)
    }

    private func appendUInt32(_ value: UInt32, to buffer: inout [UInt8]) {
        buffer.append(UInt8(truncatingIfNeeded: value >> 24))
        buffer.append(UInt8(truncatingIfNeeded: value >> 16))
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value))
    }

    private func appendUInt64(_ value: UInt64, to buffer: inout [UInt8]) {
        appendUInt32(UInt32(truncatingIfNeeded: value >> 32), to: &buffer)
        appendUInt32(UInt32(truncatingIfNeeded: value), to: &buffer)
    }
}

/// Why a term could not be encoded: it holds a value that Erlang cannot represent.
public struct TermEncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public let description: String

    init(_ description: String) {
        self.description = "cannot encode Erlang term: \(description)"
    }
}
