/// How a distribution connection identifies itself and when it gives up on the node.
public struct DistributionConfiguration: Sendable {
    /// The cookie to prove; never logged.
    public var cookie: Cookie
    /// Our node name; nil makes a unique one in the peer's naming mode (see `NodeName.unique`).
    public var localName: NodeName?
    /// Whether the peer's host part is a guess: EPMD registers only the alive part, and a node started with
    /// `-name` may call itself `app@10.0.0.5` or `app@web1.example.com`. The handshake then accepts the name
    /// the node gives when its alive part is the one expected (the cookie, not the name, authenticates it),
    /// and the connection's `peer` is that name.
    public var acceptsAnyPeerHost = false
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
    /// The most bytes waiting to be written to the node; a send that would pass it ends the connection
    /// as `.notReading`.
    ///
    /// What we send is small (RPC requests, ticks, probes, and answers to the node's own monitor, link and
    /// output requests: a few hundred bytes each), and the socket or SSH channel takes the first megabytes
    /// itself. So 1 MiB waiting in the queue means thousands of packets the node has not read, which a
    /// healthy node never leaves; yet it costs little: 20 MiB with 20 releases whose nodes all stopped reading.
    public var maximumQueuedOutput: Int
    /// The most bytes of unsolicited messages (counted as received) that `events` holds until they are
    /// read; the default, 0, drops them all.
    ///
    /// Unsolicited messages are sends to our process that no call waits for. A node may send any number
    /// of them, up to `maximumMessageSize` each, so they are held only for a reader that asked for them
    /// with a budget: the rest are dropped, counted, and logged now and then. Replies to pending calls are
    /// never affected. The decoded terms take more memory than their bytes, up to 24 times for long lists
    /// of small values.
    public var messageBufferLimit: Int

    /// Creates a configuration; only the cookie has no default.
    public init(
        cookie: Cookie,
        localName: NodeName? = nil,
        tickTimeout: Duration = .seconds(60),
        handshakeTimeout: Duration = .seconds(10),
        maximumMessageSize: Int = 16 << 20,
        decodingLimits: TermDecoder.Limits = TermDecoder.Limits(),
        maximumQueuedOutput: Int = 1 << 20,
        messageBufferLimit: Int = 0
    ) {
        self.cookie = cookie
        self.localName = localName
        self.tickTimeout = tickTimeout
        self.handshakeTimeout = handshakeTimeout
        self.maximumMessageSize = maximumMessageSize
        self.decodingLimits = decodingLimits
        self.maximumQueuedOutput = maximumQueuedOutput
        self.messageBufferLimit = messageBufferLimit
    }
}
