/// Asks an Erlang Port Mapper Daemon which nodes run on its host and on which ports.
///
/// Each query uses a fresh duplex stream (EPMD answers one request per connection and then closes),
/// obtained from the `connect` closure: a TCP connection to port 4369, or an SSH direct-tcpip channel.
public struct EPMDClient: Sendable {
    /// Opens a new stream to EPMD.
    public typealias Connect = @Sendable () async throws -> any ByteStream

    /// The host EPMD runs on, for error messages.
    public let host: String
    private let connect: Connect

    /// Creates a client that reaches EPMD on `host` through `connect`.
    public init(host: String, connect: @escaping Connect) {
        self.host = host
        self.connect = connect
    }

    /// A client that connects over plain TCP.
    public static func tcp(host: String = "127.0.0.1", port: UInt16 = 4369) -> EPMDClient {
        EPMDClient(host: host) { try await TCPStream.connect(host: host, port: port) }
    }

    /// The registered nodes' alive names and distribution ports (EPMD's NAMES request).
    ///
    /// - Throws: `DistributionError` with code `.epmdFailed` when EPMD cannot be reached or answers oddly.
    public func names() async throws(DistributionError) -> [String: UInt16] {
        let stream = try await open()
        let result: Result<[String: UInt16], DistributionError>
        do {
            result = .success(try await Self.names(over: stream, host: host))
        } catch {
            result = .failure(error)
        }
        await stream.close()
        return try result.get()
    }

    /// Where the node `alive` listens and what it speaks (EPMD's PORT_PLEASE2 request); nil if not registered.
    ///
    /// - Throws: `DistributionError` with code `.epmdFailed` when EPMD cannot be reached or answers oddly.
    public func lookup(_ alive: String) async throws(DistributionError) -> EPMDNodeInfo? {
        let stream = try await open()
        let result: Result<EPMDNodeInfo?, DistributionError>
        do {
            result = .success(try await Self.lookup(alive, over: stream, host: host))
        } catch {
            result = .failure(error)
        }
        await stream.close()
        return try result.get()
    }

    private func open() async throws(DistributionError) -> any ByteStream {
        do {
            return try await connect()
        } catch {
            throw DistributionError(
                .epmdFailed, node: host, "cannot connect; is epmd running there?", underlyingError: error)
        }
    }

    /// Sends NAMES on an open stream and parses the reply.
    public static func names(over stream: any ByteStream, host: String) async throws(DistributionError) -> [String: UInt16] {
        let reply = try await exchange([110], over: stream, host: host)
        guard reply.count >= 4 else {
            throw DistributionError(.epmdFailed, node: host, "NAMES reply of \(reply.count) bytes is too short")
        }
        var names: [String: UInt16] = [:]
        // Each line reads "name NAME at port PORT".
        for line in String(decoding: reply.dropFirst(4), as: UTF8.self).split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 5, words[0] == "name", words[2] == "at", words[3] == "port",
                let port = UInt16(words[4])
            else { continue }
            names[String(words[1])] = port
        }
        return names
    }

    /// Sends PORT_PLEASE2 for `alive` on an open stream and parses the reply.
    public static func lookup(
        _ alive: String, over stream: any ByteStream, host: String
    ) async throws(DistributionError) -> EPMDNodeInfo? {
        let reply = try await exchange([122] + Array(alive.utf8), over: stream, host: host)
        guard reply.first == 119 else {
            throw DistributionError(.epmdFailed, node: host, "PORT_PLEASE2 reply has an unknown tag")
        }
        guard reply.count >= 2, reply[1] == 0 else { return nil }
        do {
            return try parsePort2(reply)
        } catch {
            throw DistributionError(.epmdFailed, node: host, "PORT_PLEASE2 reply is truncated: \(error.detail)")
        }
    }

    private static func parsePort2(_ reply: [UInt8]) throws(TermDecodingError) -> EPMDNodeInfo {
        var reader = ByteReader(reply, position: 2)
        let port = try reader.readUInt16()
        let type = try reader.readByte()
        let transport = try reader.readByte()
        let highest = try reader.readUInt16()
        let lowest = try reader.readUInt16()
        let name = try reader.readBytes(Int(try reader.readUInt16()))
        let extra = reader.isAtEnd ? [] : try reader.readBytes(Int(try reader.readUInt16()))
        return EPMDNodeInfo(
            port: port, nodeType: EPMDNodeInfo.NodeType(type), transportProtocol: transport,
            highestVersion: highest, lowestVersion: lowest, name: String(decoding: name, as: UTF8.self),
            extra: extra)
    }

    private static func exchange(
        _ request: [UInt8], over stream: any ByteStream, host: String, timeout: Duration = .seconds(5)
    ) async throws(DistributionError) -> [UInt8] {
        guard request.count <= Int(UInt16.max) else {
            throw DistributionError(.epmdFailed, node: host, "request too long")
        }
        // EPMD answers and closes at once; something else on its port may never close, so the answer has a deadline.
        let timedOut = DistributionError(
            .epmdFailed, node: host, "no complete answer within \(timeout); is it EPMD that listens on that port?")
        let outcome = await withStreamDeadline(timeout, closing: stream, timedOut: { timedOut }) {
            () -> Result<[UInt8], DistributionError> in
            do {
                try await stream.write([UInt8(request.count >> 8), UInt8(request.count & 0xFF)] + request)
                var reader = PacketReader(stream: stream)
                return .success(try await reader.readToEnd(maximum: 1 << 20))
            } catch {
                return .failure(DistributionError(.epmdFailed, node: host, "request failed", underlyingError: error))
            }
        }
        guard let outcome else { throw DistributionError(.epmdFailed, node: host, "the request was cancelled") }
        return try outcome.get()
    }
}

/// What EPMD knows of one node: its distribution port and protocol.
public struct EPMDNodeInfo: Sendable, Equatable {
    /// Whether the node is a normal or hidden node.
    public enum NodeType: Sendable, Equatable {
        /// A normal Erlang node (77).
        case normal
        /// A hidden node, such as a C node (72).
        case hidden
        /// Any other value.
        case other(UInt8)

        init(_ value: UInt8) {
            switch value {
            case 77: self = .normal
            case 72: self = .hidden
            default: self = .other(value)
            }
        }
    }

    /// The port the node accepts distribution connections on.
    public let port: UInt16
    /// Normal or hidden.
    public let nodeType: NodeType
    /// The transport protocol; 0 is TCP/IPv4.
    public let transportProtocol: UInt8
    /// The highest distribution protocol version the node speaks (6 from OTP 23).
    public let highestVersion: UInt16
    /// The lowest distribution protocol version the node speaks.
    public let lowestVersion: UInt16
    /// The alive name, as registered.
    public let name: String
    /// The extra field the node registered, usually empty.
    public let extra: [UInt8]
}
