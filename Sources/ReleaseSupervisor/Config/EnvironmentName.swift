/// Names a release's environment may use: a letter or `_`, then letters, digits and `_`, in ASCII.
public enum EnvironmentName {
    /// Whether `name` is a portable shell variable name.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, first == 0x5F || isLetter(first) else { return false }
        return bytes.allSatisfy { $0 == 0x5F || isLetter($0) || (0x30...0x39).contains($0) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
}
