public import Logging
import Synchronization

/// A connection to one Erlang node as a hidden node, over any duplex byte stream.
///
/// `connect` performs the handshake; `run()` then carries the connection (reading, writing, ticking)
/// until it ends, and must be running for anything else to work. Typical use from an actor:
///
/// ```swift
/// let connection = try await DistributionConnection.connect(over: stream, to: node, configuration: config)
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     group.addTask { await connection.run() }
///     let version = try await connection.rpc("erlang", "system_info", ["otp_release"])
///     for await event in connection.events { ... }   // ends after .nodedown
/// }
/// ```
///
/// Or scoped: `try await DistributionConnection.withConnection(over:to:configuration:) { connection in ... }`.
/// All methods are safe to call from any task; sends are queued in order.
public final class DistributionConnection: Sendable {
    /// The node at the other end.
    public let peer: NodeName
    /// The name we use on this connection.
    public let localName: NodeName
    /// The process identifier that stands for this connection on the node: replies and messages go to it.
    public let pid: Pid
    /// What happens on the connection: process DOWNs, messages to `pid`, and finally one `.nodedown`.
    ///
    /// Buffers the newest 1,024 events if nobody reads, so the final `.nodedown` is never dropped. Messages
    /// no call waits for are held only up to `DistributionConfiguration.messageBufferLimit` bytes (none by
    /// default); the rest are dropped, counted and logged.
    public let events: DistributionEvents

    let configuration: DistributionConfiguration
    let logger: Logger
    let stream: any ByteStream
    let peerFlags: DistributionFlags
    let creation: UInt32
    let decoder: TermDecoder
    let state: Locked<ConnectionState>
    let eventSink: AsyncStream<DistributionEvent>.Continuation
    let unsolicited: UnsolicitedMessages
    let outgoing: PacketQueue
    /// Fulfilled by `finish`, so that `run()` ends as soon as the connection is down, even while its writer
    /// waits on a node that does not read.
    let ended = EndSignal()
    let lastReceived: Atomic<Int64>
    let lastSent: Atomic<Int64>
    private let referenceCounter = Atomic<UInt64>(1)
    private let referenceSalt = UInt32.random(in: 0...UInt32.max)

    /// Connects as a hidden node: runs the handshake over `stream` with the node `peer`.
    ///
    /// The stream is closed when the handshake fails.
    /// - Throws: `DistributionError`: `.cookieRejected` for a wrong cookie, `.handshakeTimedOut`,
    ///   `.connectionRefused`, `.unsupportedPeer`, `.connectionFailed`, `.invalidNodeName`, ...
    public static func connect(
        over stream: any ByteStream,
        to peer: NodeName,
        configuration: DistributionConfiguration,
        logger: Logger = Logger(label: "controlnode.erlang")
    ) async throws(DistributionError) -> DistributionConnection {
        let localName = configuration.localName ?? NodeName.unique(matching: peer)
        guard localName.usesLongNames == peer.usesLongNames else {
            await stream.close()
            throw DistributionError(
                .invalidNodeName, node: peer.description,
                "our name \(localName) and the node's name are not both short or both long names; "
                    + "Erlang refuses to mix them")
        }
        let creation = UInt32.random(in: 4...UInt32.max)
        var handshake = DistributionHandshake(
            localName: localName, peer: peer, cookie: configuration.cookie, creation: creation)
        handshake.acceptsAnyHost = configuration.acceptsAnyPeerHost
        let (outcome, reader) = try await Self.shake(
            handshake, over: stream, timeout: configuration.handshakeTimeout, logger: logger)
        // The name the node gave, when its host part was a guess (checked by the handshake).
        let peer = (try? NodeName(outcome.peerName)) ?? peer
        logger.debug("distribution connection up", metadata: ["node": "\(peer)", "local": "\(localName)"])
        return DistributionConnection(
            stream: stream, reader: reader, peer: peer, localName: localName, creation: creation,
            peerFlags: outcome.peerFlags, configuration: configuration, logger: logger)
    }

    /// Connects, runs the connection while `body` runs, and closes it when `body` returns or throws.
    public static func withConnection<Result: Sendable>(
        over stream: any ByteStream,
        to peer: NodeName,
        configuration: DistributionConfiguration,
        logger: Logger = Logger(label: "controlnode.erlang"),
        _ body: (DistributionConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(over: stream, to: peer, configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await connection.run() }
            do {
                let result = try await body(connection)
                await connection.close()
                try await group.waitForAll()
                return result
            } catch {
                await connection.close()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    private init(
        stream: any ByteStream, reader: PacketReader, peer: NodeName, localName: NodeName, creation: UInt32,
        peerFlags: DistributionFlags, configuration: DistributionConfiguration, logger: Logger
    ) {
        self.stream = stream
        self.peer = peer
        self.localName = localName
        self.creation = creation
        self.peerFlags = peerFlags
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "node"] = "\(peer)"
        self.logger = logger
        self.decoder = TermDecoder(limits: configuration.decodingLimits)
        self.pid = Pid(node: localName.atom, id: 1, serial: 0, creation: creation)
        let (eventStream, sink) = AsyncStream<DistributionEvent>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        unsolicited = UnsolicitedMessages(limit: max(configuration.messageBufferLimit, 0))
        events = DistributionEvents(stream: eventStream, messages: unsolicited)
        eventSink = sink
        outgoing = PacketQueue(stream: stream, limit: configuration.maximumQueuedOutput)
        state = Locked(ConnectionState(reader: reader))
        let now = MonotonicClock.nanoseconds()
        lastReceived = Atomic(now)
        lastSent = Atomic(now)
    }

    /// Carries the connection until it ends: reads and dispatches messages, writes queued ones, ticks,
    /// and watches for silence. Returns after `.nodedown` has been sent on `events`.
    ///
    /// Cancelling the task that runs it closes the connection (`.closedLocally`). Only the first call
    /// does anything; later ones return at once.
    public func run() async {
        guard let reader = state.withLock({ $0.takeReader() }) else { return }
        await withTaskGroup(of: NodeDownReason?.self) { group in
            if let pushing = stream as? any PushReadableStream {
                group.addTask { await self.receivePushed(from: pushing, reader: reader) }
            } else {
                group.addTask { await self.receiveLoop(reader) }
            }
            group.addTask { await self.sendLoop() }
            group.addTask { await self.livenessLoop() }
            group.addTask { await self.ended.wait() }
            var reason: NodeDownReason?
            while reason == nil, let next = await group.next() { reason = next }
            finish(reason ?? .closedLocally)
            group.cancelAll()
            await stream.close()
        }
    }

    /// Closes the connection; `events` ends with `.nodedown(.closedLocally)` and pending calls fail.
    public func close() async {
        finish(.closedLocally)
        await stream.close()
    }

    /// Why the connection ended, or nil while it is up.
    public var downReason: NodeDownReason? { state.withLock { $0.downReason } }

    /// Marks the connection down once: fails pending calls, and ends `events` with one `.nodedown`.
    func finish(_ reason: NodeDownReason) {
        guard let calls = state.withLock({ $0.markDown(reason) }) else { return }
        outgoing.close()
        let error = nodeDownError(reason)
        for call in calls { call.resume(throwing: error) }
        emit(.nodedown(reason))
        eventSink.finish()
        ended.fulfill(reason)
        if let report = unsolicited.finalReport() { logDrops(report) }
        switch reason {
        case .closedLocally: logger.debug("distribution connection closed")
        default: logger.debug("node down: \(reason)")  // the release actor reports it, with its context
        }
    }

    func nodeDownError(_ reason: NodeDownReason? = nil) -> DistributionError {
        let reason = reason ?? downReason
        return DistributionError(
            .nodeDown, node: peer.description, "the connection is down (\(reason.map { "\($0)" } ?? "unknown"))")
    }

    /// Hands `event` to `events`; a message the full buffer pushes out gives back its share of the budget.
    func emit(_ event: DistributionEvent) {
        if case .dropped(.message) = eventSink.yield(event) { unsolicited.release() }
    }

    /// Logs dropped unsolicited messages: the first drop at once, then a count at most once a minute.
    func logDrops(_ report: UnsolicitedMessages.DropReport) {
        let metadata: Logger.Metadata = [
            "event": "distribution_messages_dropped", "messages": "\(report.messages)", "bytes": "\(report.bytes)",
        ]
        if report.isFirst {
            logger.notice(
                "dropping messages from the node that no call waits for (counted, and logged at most once a minute)",
                metadata: metadata)
        } else {
            logger.notice("dropped \(report.messages) more unsolicited messages from the node", metadata: metadata)
        }
    }

    /// Whether `reference` was made by this connection (`makeReference`), as the references of our calls are.
    func isOurs(_ reference: Reference) -> Bool {
        reference.node == localName.atom && reference.creation == creation && reference.ids.count == 3
            && reference.ids[2] == referenceSalt
    }

    /// A reference unique to this connection, for RPC replies and monitors.
    func makeReference() -> Reference {
        let count = referenceCounter.wrappingAdd(1, ordering: .relaxed).oldValue
        return Reference(
            node: localName.atom, creation: creation,
            ids: [UInt32(truncatingIfNeeded: count), UInt32(truncatingIfNeeded: count >> 32), referenceSalt])
    }

    /// Sends a packet, at once or through the writer task, in order; false once the connection is down.
    func enqueue(_ packet: [UInt8]) -> Bool {
        switch outgoing.submit(packet) {
        case .written:
            lastSent.store(MonotonicClock.nanoseconds(), ordering: .relaxed)
            return true
        case .queued:
            return true
        case .closed:
            return false
        case .failed(let error):
            finish(.connectionLost("\(error)"))
            return false
        case .overflowed(let queued):
            finish(.notReading(queuedBytes: queued, limit: outgoing.limit))
            return false
        }
    }

    private static func shake(
        _ handshake: DistributionHandshake, over stream: any ByteStream, timeout: Duration, logger: Logger
    ) async throws(DistributionError) -> (DistributionHandshake.Outcome, PacketReader) {
        let node = handshake.peer.description
        let timedOut = DistributionError(
            .handshakeTimedOut, node: node,
            "no handshake within \(timeout); is the port a distribution port, and the node responsive?")
        let result = await withStreamDeadline(timeout, closing: stream, timedOut: { timedOut }) {
            () -> Result<(DistributionHandshake.Outcome, PacketReader), DistributionError> in
            var reader = PacketReader(stream: stream)
            do throws(DistributionError) {
                let outcome = try await handshake.perform(with: &reader)
                return .success((outcome, reader))
            } catch {
                return .failure(error)
            }
        }
        if case .failure = result { await stream.close() }
        guard let result else {
            throw DistributionError(.connectionFailed, node: node, "the handshake was cancelled")
        }
        if case .failure(let error) = result {
            logger.info("distribution handshake failed: \(error)", metadata: ["node": "\(node)"])
        }
        return try result.get()
    }
}

/// The mutable part of a connection, guarded by its mutex.
struct ConnectionState {
    var downReason: NodeDownReason?
    var calls: [Reference: CheckedContinuation<Term, any Error>] = [:]
    var monitors: [Reference: Term] = [:]
    var probes: Set<Reference> = []
    private var reader: PacketReader?

    init(reader: PacketReader) {
        self.reader = reader
    }

    mutating func takeReader() -> PacketReader? {
        defer { reader = nil }
        return reader
    }

    /// Records the reason and hands back the pending calls; nil if the connection was already down.
    mutating func markDown(_ reason: NodeDownReason) -> [CheckedContinuation<Term, any Error>]? {
        guard downReason == nil else { return nil }
        downReason = reason
        reader = nil
        defer { calls = [:] }
        return Array(calls.values)
    }
}
