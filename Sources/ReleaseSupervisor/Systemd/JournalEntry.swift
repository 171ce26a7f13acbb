/// One journal entry as journald's native protocol wants it: `NAME=value` fields laid end to end in one
/// buffer, so queueing an entry is one allocation and sending it needs no copying.
struct JournalEntry: Sendable {
    private(set) var bytes: [UInt8] = []
    /// Where each field ends in `bytes`.
    private(set) var ends: [Int] = []

    init() {
        bytes.reserveCapacity(256)
        ends.reserveCapacity(8)
    }

    /// Appends a field; `name` must already be a valid journal field name (see `JournalFieldName`).
    mutating func append(_ name: String, _ value: String) {
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: "="))
        bytes.append(contentsOf: value.utf8)
        ends.append(bytes.count)
    }

    /// The value of the first field called `name`, for tests and fallbacks.
    func value(of name: String) -> String? {
        let prefix = Array(name.utf8) + [UInt8(ascii: "=")]
        var start = 0
        for end in ends {
            let field = bytes[start..<end]
            if field.starts(with: prefix) {
                return String(decoding: field.dropFirst(prefix.count), as: UTF8.self)
            }
            start = end
        }
        return nil
    }
}

/// Turns swift-log metadata keys into names journald accepts and `journalctl FIELD=value` can match.
enum JournalFieldName {
    /// journald's limit on a field name's length.
    static let maximumLength = 64

    /// Fields the handler writes itself; a metadata key that maps onto one is prefixed so it cannot
    /// masquerade as (or duplicate) the message, priority or identifier.
    static let reserved: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "SYSLOG_PID",
        "CODE_FILE", "CODE_LINE", "CODE_FUNC", "LOGGER", "ERRNO",
    ]

    /// `tunnel-port` → `TUNNEL_PORT`: ASCII letters upper-cased, digits kept, everything else `_`; leading
    /// underscores dropped (those fields are journald's own, trusted ones); a leading digit, an empty result
    /// or a reserved name gets a `META_` prefix (nothing left: `META`); at most 64 characters.
    static func sanitize(_ key: String) -> String {
        var name = ""
        name.reserveCapacity(key.utf8.count)
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): name.append(Character(Unicode.Scalar(byte - 32)))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                name.append(Character(Unicode.Scalar(byte)))
            case 0x80...0xBF: continue  // continuation bytes: one `_` per non-ASCII character, not per byte
            default: name.append("_")
            }
        }
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty {
            name = "META"
        } else if name.utf8.first.map({ $0 < UInt8(ascii: "A") }) == true || reserved.contains(name) {
            name = "META_" + name  // starts with a digit, or is one of ours
        }
        return String(name.prefix(maximumLength))
    }
}
