public import Logging

/// One daemon's membership of a cluster, carried out against etcd as `ClusterState` decides: a lease renewed at
/// a third of its TTL, a member key under it, and (active-standby) the leader key, taken with a create-revision-0
/// transaction when it is free. Every change of what the member may do is published on `updates`; actions on
/// hosts are confirmed through `confirm(_:for:)` right before they run.
public actor ClusterMember {
    /// The keys under the configured prefix.
    public struct Keys: Sendable, Equatable {
        /// The leader key (active-standby).
        public var leader: String
        /// The prefix of the member keys; each member's key is this plus its name.
        public var members: String

        /// The keys under `prefix` (which ends in '/').
        public init(prefix: String) {
            leader = prefix + "leader"
            members = prefix + "members/"
        }
    }

    /// This member's name.
    public nonisolated let name: String
    /// The keys it uses.
    public nonisolated let keys: Keys
    /// Every change of the state that matters to the supervisor: role, leader, members, and each renewal.
    public nonisolated let updates: AsyncStream<ClusterState>
    private let updateSink: AsyncStream<ClusterState>.Continuation
    private let etcd: any EtcdKeyValue
    private let logger: Logger
    private let pollInterval: Duration
    private(set) var state: ClusterState
    private var published:
        (role: ClusterState.Role, leader: ClusterState.Leader?, members: [String], until: ContinuousClock.Instant?)?
    private var stopping = false

    /// A member named as `config` says, talking to `etcd`, reading the leader and member keys every `pollInterval`.
    public init(
        config: ClusterConfig, etcd: any EtcdKeyValue, logger: Logger, pollInterval: Duration = .milliseconds(500)
    ) {
        name = config.memberName
        keys = Keys(prefix: config.keyPrefix)
        self.etcd = etcd
        var logger = logger
        logger[metadataKey: "member"] = "\(config.memberName)"
        self.logger = logger
        self.pollInterval = min(pollInterval, config.leaseTTL / 3)
        state = ClusterState(name: config.memberName, mode: config.mode, ttl: config.leaseTTL)
        (updates, updateSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The state now, as last read from etcd.
    public var current: ClusterState { state }

    /// Keeps the membership until cancelled or `leave()`; cancelled, the lease simply runs out.
    public func run() async {
        while !Task.isCancelled && !stopping {
            let step = state.next(at: .now)
            let succeeded = await perform(step)
            // While joining goes well, the member is fenced only for a moment: its first word is the role it joins as.
            let joining = succeeded && [.grant, .join].contains(state.next(at: .now)) && published == nil
            if !joining { publishIfChanged() }
            if step == .observe {
                try? await Task.sleep(for: pollInterval)
            }
        }
        updateSink.finish()
    }

    /// Ends `run()` and gives up the lease, deleting this member's keys, so that another member takes over at
    /// once: for a daemon that stops, once nothing acts on its pairs any more.
    public func leave() async {
        stopping = true
        await resign()
        updateSink.finish()
    }

    /// Carries out `step`; false when etcd could not be asked or refused.
    private func perform(_ step: ClusterState.Step) async -> Bool {
        let sentAt = ContinuousClock.now
        do {
            switch step {
            case .grant:
                let granted = try await etcd.grantLease(ttl: state.ttl)
                state.granted(lease: granted.id, ttl: granted.ttl, sentAt: sentAt)
                logger.info("lease granted", metadata: ["event": "cluster_lease", "lease": "\(granted.id)"])
            case .renew:
                guard let lease = state.lease else { return true }
                state.renewed(ttl: try await etcd.keepAlive(lease: lease), sentAt: sentAt)
                if state.lease == nil {
                    logger.warning(
                        "the lease expired in etcd; acting on nothing until a new one is granted",
                        metadata: ["event": "cluster_lease_lost"])
                }
            case .join:
                try await join()
            case .campaign:
                guard let lease = state.lease else { return true }
                if case .created(let entry) = try await etcd.create(keys.leader, value: name, lease: lease) {
                    logger.notice(
                        "took the leadership", metadata: ["event": "cluster_leader", "revision": "\(entry.createRevision)"])
                }
                try await observe()
            case .observe:
                try await observe()
            }
        } catch {
            state.failed("\(error)", at: .now)
            logger.warning("\(step) failed: \(error)", metadata: ["event": "cluster_etcd_failed"])
            try? await Task.sleep(for: min(pollInterval, .seconds(1)))
            return false
        }
        return true
    }

    private func join() async throws(EtcdError) {
        guard let lease = state.lease else { return }
        let key = keys.members + name
        switch try await etcd.create(key, value: name, lease: lease) {
        case .created(let entry):
            state.joined(revision: entry.createRevision)
            logger.notice("joined the cluster", metadata: ["event": "cluster_joined"])
            try await observe()
        case .held(let entry) where entry.lease == lease:
            state.joined(revision: entry.createRevision)
        case .held(let entry):
            let text = "member name \(name) is held in etcd under lease \(entry.lease): another daemon has the same "
                + "member_name, or this daemon's previous run, whose lease ends within lease_ttl; waiting"
            logger.warning(
                "\(text)",
                metadata: ["event": "cluster_name_taken"])
            try? await Task.sleep(for: pollInterval)
        }
    }

    private func observe() async throws(EtcdError) {
        let leader = state.mode == .activeStandby ? try await etcd.get(keys.leader) : nil
        let members = try await etcd.list(prefix: keys.members)
        state.observed(leader: leader, memberKeys: members, membersPrefix: keys.members)
    }

    private func publishIfChanged() {
        let now = ContinuousClock.now
        let role = state.role(at: now)
        // A renewal moves `confirmedUntil`: the supervisor's copy must move with it, or it would see the lease lapse.
        if let published, published.role == role, published.leader == state.leader, published.members == state.members,
            published.until == state.confirmedUntil
        {
            return
        }
        if let previous = published?.role, previous != role {
            let level: Logger.Level = role == .fenced ? .warning : .notice
            let why = role == .fenced ? ": \(state.fencedBecause)" : ""
            logger.log(
                level: level, "cluster role \(previous.rawValue) → \(role.rawValue)\(why)",
                metadata: ["event": "cluster_role", "role": "\(role.rawValue)", "leader": "\(state.leader?.name ?? "")"])
        }
        published = (role, state.leader, state.members, state.confirmedUntil)
        ClusterMetrics.record(state, role: role)
        updateSink.yield(state)
    }

    /// Asked right before `action` on `pair`: nil when this member may act on it now, else why not. The lease
    /// must be confirmed, and a fresh read of etcd must show this member still holding the leadership
    /// (active-standby, the same revision) or its member key (sharded) under its lease, and owning the pair.
    public func confirm(_ action: String, for pair: ReleaseHost) async -> String? {
        if let refusal = state.refusal(at: .now) { return refusal }
        guard let lease = state.lease else { return "this member has no lease" }
        do {
            switch state.mode {
            case .activeStandby:
                let entry = try await etcd.get(keys.leader)
                guard let entry, entry.value == name, entry.lease == lease,
                    entry.createRevision == state.leadershipRevision
                else { return "etcd shows \(entry?.value ?? "no member") as the leader now" }
            case .sharded:
                let entry = try await etcd.get(keys.members + name)
                guard let entry, entry.lease == lease else { return "this member's key in etcd is gone" }
                guard state.owner(of: pair) == name else {
                    return "the pair belongs to \(state.owner(of: pair) ?? "no member") now"
                }
            }
        } catch {
            return "cannot confirm with etcd (\(error))"
        }
        // The read may have taken a while: the lease must still be confirmed after it.
        return state.refusal(at: .now)
    }

    private func resign() async {
        guard let lease = state.lease else { return }
        do {
            try await etcd.revoke(lease: lease)
            logger.notice("gave up the lease", metadata: ["event": "cluster_left"])
        } catch {
            logger.warning(
                "could not give up the lease; it ends within lease_ttl: \(error)", metadata: ["event": "cluster_etcd_failed"])
        }
        state.leaseLost("this member stopped")
    }
}
