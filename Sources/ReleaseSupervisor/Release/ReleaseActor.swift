public import Logging

/// The supervisor of one release on one host: holds its SSH connection (from the pool), its distribution
/// connection and node monitor, and keeps the release as its control mode says.
///
/// `run()` initialises through `initializeState`, then in `manage` mode starts or deploys the desired
/// version when the release is absent. When the node goes down it finds out why: connection lost but the
/// node still registered → reconnect with capped exponential backoff, release untouched; node gone in
/// `manage` mode → restart it from its extracted directory within the restart budget, and `failed` when
/// the budget is spent; in `observe` and `connect` modes it only reconnects and reports. Requests are
/// serialised: one arriving while another runs gets `busy` at once. Cancelling `run()` closes connections
/// and tunnels and leaves the release running.
public actor ReleaseActor {
    /// What to supervise.
    public nonisolated let release: ReleaseSpec
    /// Where.
    public nonisolated let host: HostSpec
    /// Every transition, in order.
    public nonisolated let events: AsyncStream<ReleaseEvent>
    let eventSink: AsyncStream<ReleaseEvent>.Continuation
    let pool: SSHConnectionPool
    let registry: Registry?
    /// The version `manage` mode keeps running; rollouts change it.
    var desiredVersion: ReleaseVersion?
    let tickTimeout: Duration
    /// How often the node is asked for its figures (`NodeStats`), or nil when nobody reads them (no `/metrics`).
    let nodeStatsInterval: Duration?
    let logger: Logger
    /// Asked before each action on the host (`[cluster]`); nil when the daemon works alone.
    let actionGate: ActionGate?
    /// The pair's metric series (no-ops unless the daemon serves metrics).
    var metrics: ReleaseMetrics
    /// Why the node is about to go down on purpose, for the restart that follows (`health_check`).
    var restartCause: String?

    var state: ReleaseState
    var link: ReleaseLink?
    var linkGeneration = 0
    var budget: RestartBudget
    /// What the actor is doing, and what it may do next: every decision about requests, node downs, rechecks and
    /// health checks is asked of it.
    var machine = ReleaseStateMachine()
    /// The node's name from the last connection.
    var knownNodeName: NodeName?
    let signals: AsyncStream<Signal>
    let signalSink: AsyncStream<Signal>.Continuation
    /// Told each time a link is closed: wakes a health loop with no check to run while connected.
    let linkDrops: AsyncStream<Void>
    let linkDropSink: AsyncStream<Void>.Continuation

    /// What wakes the supervising loop.
    enum Signal: Sendable {
        case nodeDown(generation: Int, reason: NodeDownReason)
        case changed
        /// A request ended after the node it left connected went down meanwhile.
        case recover(NodeDownReason)
    }

    /// Creates the supervisor; nothing happens until `run()`.
    public init(
        release: ReleaseSpec, host: HostSpec, pool: SSHConnectionPool, registry: Registry?,
        desiredVersion: ReleaseVersion?, tickTimeout: Duration = .seconds(15), nodeStatsInterval: Duration? = nil,
        actionGate: ActionGate? = nil, logger: Logger
    ) {
        self.actionGate = actionGate
        self.release = release
        self.host = host
        self.pool = pool
        self.registry = registry
        self.desiredVersion = desiredVersion
        self.tickTimeout = tickTimeout
        self.nodeStatsInterval = nodeStatsInterval
        metrics = ReleaseMetrics(release: release.name, host: host.name)
        var logger = logger
        logger[metadataKey: "release"] = "\(release.name)"
        logger[metadataKey: "host"] = "\(host.name)"
        self.logger = logger
        state = ReleaseState(release: release.name, host: host.name)
        budget = RestartBudget(policy: release.restartPolicy)
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        (signals, signalSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (linkDrops, linkDropSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The current state.
    public var currentState: ReleaseState { state }

    /// The request in progress (such as `a deploy of 0.2.0`), if any: others get `busy` meanwhile.
    public var requestInProgress: String? {
        if case .busy(let request) = machine.phase { return request }
        return nil
    }

    /// Supervises until cancelled; then closes the link and leaves the release running.
    public func run() async {
        await reconcile(after: nil)
        transition(.initialized, to: state.status, "initialized: \(state.status)")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.healthLoop() }
            if let interval = nodeStatsInterval { group.addTask { await self.nodeStatsLoop(every: interval) } }
            for await signal in signals {
                if Task.isCancelled { break }
                switch signal {
                case .nodeDown(let generation, let reason) where generation == linkGeneration:
                    if machine.nodeDown(reason) { await nodeWentDown(reason) }
                case .nodeDown:
                    break  // an old link's farewell
                case .changed:
                    if machine.recheck() { await reconcile(after: nil) }
                case .recover(let reason):
                    if machine.phase == .recovering { await nodeWentDown(reason) }
                }
            }
            group.cancelAll()
        }
        await closeLink()
        metrics.destroy()
        eventSink.finish()
    }

    /// Stops supervising: ends `run()`'s loop (as cancelling its task does).
    public func shutdown() {
        signalSink.finish()
    }

    // MARK: Transitions

    func transition(_ kind: ReleaseEvent.Kind, to status: ReleaseState.Status, _ reason: String) {
        let from = state.status
        state.status = status
        if case .failed(let why) = status { state.lastError = why }
        metrics.record(status: "\(status)")
        metrics.recordInfo(
            version: state.version.map { "\($0)" }, node: state.nodeName.map { "\($0)" },
            desired: desiredVersion.map { "\($0)" })
        let event = ReleaseEvent(
            kind: kind, release: release.name, host: host.name, from: from, to: status, reason: reason,
            version: state.version)
        eventSink.yield(event)
        let level: Logger.Level = kind == .failed || kind == .nodedown || kind == .healthFailed ? .warning : .info
        logger.log(
            level: level, "\(reason)",
            metadata: [
                "event": "\(kind.rawValue)", "status": "\(status)",
                "version": "\(state.version.map { "\($0)" } ?? "")", "node": "\(state.nodeName.map { "\($0)" } ?? "")",
            ])
    }

    func remote() async throws(ReleaseError) -> RemoteRelease {
        do {
            let ssh = try await pool.connection(for: host.sshSettings, named: host.name)
            var remote = RemoteRelease(release: release, host: host, ssh: ssh, logger: logger)
            remote.knownNodeName = knownNodeName
            remote.actionGate = actionGate
            return remote
        } catch {
            throw ReleaseError(.unreachable, release: release.name, host: host.name, "cannot reach the host", underlyingError: error)
        }
    }

    func closeLink() async {
        linkGeneration += 1
        let old = link
        link = nil
        if old != nil {
            linkDropSink.yield()
            metrics.record(nil as NodeStats?)
        }
        await old?.close()
    }

    /// Connects (or reconnects) to the running release and starts watching it.
    @discardableResult
    func attach(_ remote: RemoteRelease) async throws(ReleaseError) -> Bool {
        await closeLink()
        let generation = linkGeneration
        let sink = signalSink
        let (found, newLink) = try await remote.initializeState(
            tickTimeout: tickTimeout, tunnel: release.controlMode == .connect,
            onDown: { reason in sink.yield(.nodeDown(generation: generation, reason: reason)) })
        guard let newLink else {
            state.nodeName = nil
            state.osPid = nil
            state.localTunnelPort = nil
            state.connectedSince = nil
            return false
        }
        link = newLink
        knownNodeName = found.nodeName ?? knownNodeName
        let restarts = state.restartCount
        state = found
        state.restartCount = restarts
        return true
    }
}
