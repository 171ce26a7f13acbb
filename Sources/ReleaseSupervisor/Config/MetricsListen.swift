/// Where `daemon.metrics_listen` serves `GET /metrics`: a TCP address (`127.0.0.1:9568`, `[::1]:9568`) or the
/// absolute path of a Unix socket (mode 0660, the control socket's group).
public enum MetricsListen: Sendable, Equatable, CustomStringConvertible {
    /// An IP address (v4, or v6 in brackets) and a port.
    case tcp(address: String, port: UInt16)
    /// A Unix stream socket at this absolute path.
    case unix(path: String)

    /// The setting as written: `127.0.0.1:9568`, `[::1]:9568` or `/run/controlnode/metrics.sock`.
    public var description: String {
        switch self {
        case .tcp(let address, let port): address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        case .unix(let path): path
        }
    }

    /// Reads the setting's text; nil with the problem when it is neither an `address:port` nor an absolute path.
    public static func parse(_ text: String) -> Result<MetricsListen, MetricsListenProblem> {
        if text.hasPrefix("/") {
            guard text.utf8.count < 108 else { return .failure(.init("the socket path is longer than 107 bytes")) }
            return .success(.unix(path: text))
        }
        let address: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(.init("an IPv6 address goes in brackets before its port, as in [::1]:9568"))
            }
            address = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.init("no port: write address:port")) }
            address = text[..<colon]
            portText = text[text.index(after: colon)...]
            if address.contains(":") {
                return .failure(.init("an IPv6 address goes in brackets before its port, as in [::1]:9568"))
            }
        }
        guard let port = UInt16(portText), port > 0 else { return .failure(.init("\"\(portText)\" is not a port (1-65535)")) }
        guard isNumericAddress(address) else {
            return .failure(.init("\"\(address)\" is not an IP address; a host name would need a lookup at every start"))
        }
        return .success(.tcp(address: String(address), port: port))
    }

    private static func isNumericAddress(_ text: Substring) -> Bool {
        guard !text.isEmpty else { return false }
        if text.contains(":") { return text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in UInt8(part) != nil && part.allSatisfy(\.isASCII) }
    }
}

/// Why a `metrics_listen` value cannot be used.
public struct MetricsListenProblem: Error, Sendable, CustomStringConvertible {
    /// The problem in words.
    public let description: String
    init(_ description: String) { self.description = description }
}
