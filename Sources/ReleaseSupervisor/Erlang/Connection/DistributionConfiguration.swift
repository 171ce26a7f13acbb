/// How a distribution connection identifies itself and when it gives up on the node.
public struct DistributionConfiguration: Sendable {
    /// The cookie to prove; never logged.
    public var cookie: Cookie
    /// Our node name; nil makes a unique one in the peer's naming mode (see `NodeName.unique`).
    public var localName: NodeName?
    /// Silence from the node longer than this ends the connection as `.tickTimeout`.
    ///
    /// Erlang's default (`net_ticktime`) is 60 seconds. We tick every quarter of it when idle and,
    /// because the node ticks on its own schedule, probe it when it has been silent for a quarter.
    public var tickTimeout: Duration
    /// How long the handshake may take.
    public var handshakeTimeout: Duration
    /// The largest message accepted from the node, in bytes; a larger one ends the connection.
    public var maximumMessageSize: Int
    /// Bounds on decoding each received term.
    public var decodingLimits: TermDecoder.Limits

    /// Creates a configuration; only the cookie has no default.
    public init(
        cookie: Cookie,
        localName: NodeName? = nil,
        tickTimeout: Duration = .seconds(60),
        handshakeTimeout: Duration = .seconds(10),
        maximumMessageSize: Int = 16 << 20,
        decodingLimits: TermDecoder.Limits = TermDecoder.Limits()
    ) {
        self.cookie = cookie
        self.localName = localName
        self.tickTimeout = tickTimeout
        self.handshakeTimeout = handshakeTimeout
        self.maximumMessageSize = maximumMessageSize
        self.decodingLimits = decodingLimits
    }
}
