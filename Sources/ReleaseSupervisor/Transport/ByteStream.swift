/// A duplex byte stream: an SSH direct-tcpip channel or a TCP connection.
///
/// The Erlang layer runs EPMD queries and distribution connections over any value of this type,
/// which is what keeps it free of SSH: its tests use plain TCP to a local node.
public protocol ByteStream: Sendable {
    /// Reads at least one and at most `maxLength` bytes; returns an empty array at end of stream.
    ///
    /// - Throws: the transport's typed error when the stream failed, or `CancellationError`.
    func read(upTo maxLength: Int) async throws -> [UInt8]

    /// Writes all of `bytes`, returning once the transport has taken them.
    func write(_ bytes: [UInt8]) async throws

    /// Closes both directions. Pending and later reads return end of stream or throw.
    func close() async
}
