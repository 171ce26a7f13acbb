/// Text from a host or a node made safe to show: what a host prints reaches `status`, the journal and a
/// terminal, where a control sequence could rewrite the screen or forge a line.
public enum DisplayText {
    /// `text` with control characters (C0 but newline and tab, DEL, C1) and bidirectional overrides written
    /// as `\u{…}` escapes, so the text shows what it holds and cannot move the cursor or reorder a line.
    public static func sanitized(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                output.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            } else {
                output.append(scalar)
            }
        }
        return String(output)
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: false
        case 0x00..<0x20, 0x7F..<0xA0: true
        case 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
