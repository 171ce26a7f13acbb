extension Term: CustomStringConvertible {
    /// The term in Erlang's notation, for logs and error messages.
    ///
    /// Binaries show as `<<"text">>` when they are printable UTF-8 and as bytes otherwise; long
    /// binaries and lists are shortened so that one reply cannot flood a log line.
    public var description: String {
        var text = ""
        write(to: &text, budget: 2_000)
        return text
    }

    private func write(to text: inout String, budget: Int) {
        guard text.utf8.count < budget else {
            text += "..."
            return
        }
        switch self {
        case .atom(let atom): text += atom.description
        case .integer(let value): text += String(value)
        case .bigInteger(let value):
            // Decimal conversion takes time quadratic in the size, and a node may send megabytes of bignum.
            text += value.magnitude.count <= 256 ? value.description : "<integer of \(value.magnitude.count) bytes>"
        case .float(let value): text += String(value)
        case .binary(let bytes): text += Self.describeBinary(bytes)
        case .bitBinary(let bits): text += bits.description
        case .list(let elements): Self.writeSequence(elements, open: "[", close: "]", to: &text, budget: budget)
        case .improperList(let elements, let tail):
            Self.writeSequence(elements, open: "[", close: "", to: &text, budget: budget)
            text += "|"
            tail.write(to: &text, budget: budget)
            text += "]"
        case .tuple(let elements): Self.writeSequence(elements, open: "{", close: "}", to: &text, budget: budget)
        case .map(let entries):
            text += "#{"
            for (index, (key, value)) in entries.enumerated() {
                if index > 0 { text += "," }
                guard text.utf8.count < budget else {
                    text += "..."
                    break
                }
                key.write(to: &text, budget: budget)
                text += " => "
                value.write(to: &text, budget: budget)
            }
            text += "}"
        case .pid(let pid): text += pid.description
        case .reference(let reference): text += reference.description
        case .port(let port): text += port.description
        case .fun(let fun): text += fun.description
        }
    }

    private static func writeSequence(
        _ elements: [Term], open: String, close: String, to text: inout String, budget: Int
    ) {
        text += open
        for (index, element) in elements.enumerated() {
            if index > 0 { text += "," }
            guard text.utf8.count < budget else {
                text += "..."
                break
            }
            element.write(to: &text, budget: budget)
        }
        text += close
    }

    private static func describeBinary(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(200)
        let suffix = bytes.count > shown.count ? "..." : ""
        if let string = String(validating: shown, as: UTF8.self),
            string.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0.value != 0x7F })
        {
            return "<<\"\(string)\"\(suffix)>>"
        }
        return "<<" + shown.map(String.init).joined(separator: ",") + suffix + ">>"
    }
}
