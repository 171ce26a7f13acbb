/// An integer of any size, as Erlang's bignums are: a sign and a magnitude.
///
/// `Term` uses this only for values outside `Int`'s range, so every value is kept exactly.
public struct BigInteger: Hashable, Sendable, CustomStringConvertible {
    /// Whether the value is below zero.
    public let isNegative: Bool
    /// The absolute value, least significant byte first, without trailing zero bytes.
    public let magnitude: [UInt8]

    /// Creates a value from a sign and a little-endian magnitude; zero is never negative.
    public init(isNegative: Bool, magnitude: [UInt8]) {
        var magnitude = magnitude
        while magnitude.last == 0 { magnitude.removeLast() }
        self.magnitude = magnitude
        self.isNegative = isNegative && !magnitude.isEmpty
    }

    /// Creates the value of `value`.
    public init(_ value: Int) {
        var rest = value.magnitude
        var bytes: [UInt8] = []
        while rest != 0 {
            bytes.append(UInt8(truncatingIfNeeded: rest))
            rest >>= 8
        }
        self.init(isNegative: value < 0, magnitude: bytes)
    }

    /// Parses a decimal numeral with an optional leading `-`; nil if it is not one.
    public init?(_ text: String) {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        var bytes: [UInt8] = []
        for digit in digits.utf8 {
            var carry = UInt32(digit - 48)
            for index in bytes.indices {
                let product = UInt32(bytes[index]) * 10 + carry
                bytes[index] = UInt8(truncatingIfNeeded: product)
                carry = product >> 8
            }
            while carry != 0 {
                bytes.append(UInt8(truncatingIfNeeded: carry))
                carry >>= 8
            }
        }
        self.init(isNegative: negative, magnitude: bytes)
    }

    /// The value as an `Int`, or nil when it does not fit.
    public var intValue: Int? {
        guard magnitude.count <= 8 else { return nil }
        var value: UInt64 = 0
        for byte in magnitude.reversed() { value = value << 8 | UInt64(byte) }
        if isNegative {
            return value <= UInt64(Int.max) + 1 ? Int(truncatingIfNeeded: 0 &- value) : nil
        }
        return value <= UInt64(Int.max) ? Int(value) : nil
    }

    /// The value in decimal.
    public var description: String {
        if magnitude.isEmpty { return "0" }
        // Base 10^9 limbs, most significant first, built by repeated multiply-add over the bytes.
        var limbs: [UInt32] = [0]
        for byte in magnitude.reversed() {
            var carry = UInt64(byte)
            for index in limbs.indices.reversed() {
                let value = UInt64(limbs[index]) << 8 + carry
                limbs[index] = UInt32(value % 1_000_000_000)
                carry = value / 1_000_000_000
            }
            if carry != 0 { limbs.insert(UInt32(carry), at: 0) }
        }
        var text = isNegative ? "-" : ""
        text += String(limbs[0])
        for limb in limbs.dropFirst() {
            let part = String(limb)
            text += String(repeating: "0", count: 9 - part.count) + part
        }
        return text
    }
}
