/// What one member of a cluster knows and may do, decided from what etcd told it and when: the state machine
/// `ClusterMember` carries out. Pure: every input carries its instant, so it is tested without etcd or clocks.
///
/// The fencing rule: a renewal sent at `t` and answered with a TTL of `ttl` proves the lease lives until at
/// least `t + ttl` (etcd starts counting after it received the request). The member acts only before
/// `t + ttl - margin`; past that, another member may have taken over, so it stops acting until a renewal
/// succeeds again.
public struct ClusterState: Sendable {
    /// This member's part now.
    public enum Role: String, Sendable, Equatable, CaseIterable {
        /// It holds the leader key under a confirmed lease (active-standby: it supervises every pair).
        case leader
        /// Its lease is confirmed and another member leads (active-standby: it supervises nothing).
        case standby
        /// Its lease is confirmed and it supervises its share of the pairs (sharded).
        case member
        /// Its lease is not confirmed (not yet granted, lapsed, or lost): it acts on nothing.
        case fenced
    }

    /// What the member should do next.
    public enum Step: Sendable, Equatable {
        /// Ask for a new lease.
        case grant
        /// Create the member key under the lease.
        case join
        /// Renew the lease.
        case renew
        /// Try to create the leader key (active-standby, no leader).
        case campaign
        /// Nothing until the next reading of the member list and the leader key.
        case observe
    }

    /// The leader key's holder.
    public struct Leader: Sendable, Equatable {
        /// Its member name.
        public var name: String
        /// The leader key's create revision: the leadership's fencing token.
        public var revision: Int64
        /// The lease the key lives under.
        public var lease: Int64
    }

    /// This member's name.
    public let name: String
    /// How the members share the pairs.
    public let mode: ClusterConfig.Mode
    /// The lease's TTL as configured.
    public let ttl: Duration
    /// How long before its lease could expire the member stops acting.
    public let margin: Duration

    /// The lease, once granted.
    public private(set) var lease: Int64?
    /// The member key's create revision, once joined.
    public private(set) var memberRevision: Int64?
    /// Until when the lease is confirmed (last renewal's send time + its TTL - margin).
    public private(set) var confirmedUntil: ContinuousClock.Instant?
    /// When the last successful grant or renewal was sent.
    private var lastRenewal: ContinuousClock.Instant?
    /// The leader key's holder as last read.
    public private(set) var leader: Leader?
    /// The live members as last read (this one included once it has joined), sorted.
    public private(set) var members: [String] = []
    /// Why the member is fenced, for status and logs.
    public private(set) var fencedBecause = "no lease granted yet"

    /// A member that has no lease yet.
    public init(name: String, mode: ClusterConfig.Mode, ttl: Duration) {
        self.name = name
        self.mode = mode
        self.ttl = ttl
        margin = max(.seconds(1), ttl / 5)
    }

    /// How often the lease is renewed: a third of its TTL, so two renewals may fail before it lapses.
    public var renewalInterval: Duration { ttl / 3 }

    /// A lease was granted to a request sent at `sentAt`.
    public mutating func granted(lease: Int64, ttl granted: Duration, sentAt: ContinuousClock.Instant) {
        self.lease = lease
        memberRevision = nil
        confirm(ttl: granted, sentAt: sentAt)
    }

    /// The member key was created (or found) under the lease at `revision`.
    public mutating func joined(revision: Int64) {
        memberRevision = revision
        if !members.contains(name) { members = (members + [name]).sorted() }
    }

    /// A renewal sent at `sentAt` was answered with `ttl`; nil when etcd no longer has the lease.
    public mutating func renewed(ttl granted: Duration?, sentAt: ContinuousClock.Instant) {
        guard let granted, granted > .zero else {
            leaseLost("etcd reports the lease expired")
            return
        }
        confirm(ttl: granted, sentAt: sentAt)
    }

    /// The lease is gone: a new one is needed, and nothing may be done until it is granted.
    public mutating func leaseLost(_ why: String) {
        lease = nil
        memberRevision = nil
        confirmedUntil = nil
        lastRenewal = nil
        leader = leader?.name == name ? nil : leader
        let own = name
        members.removeAll { $0 == own }
        fencedBecause = why
    }

    /// A renewal or a reading failed at `at`: the lease stays confirmed only as long as it already was.
    public mutating func failed(_ why: String, at now: ContinuousClock.Instant) {
        if let until = confirmedUntil, now >= until { fencedBecause = why }
    }

    private mutating func confirm(ttl granted: Duration, sentAt: ContinuousClock.Instant) {
        lastRenewal = sentAt
        confirmedUntil = sentAt + min(granted, ttl) - margin
    }

    /// The leader key and the member keys as read from etcd (`memberKeys` under `membersPrefix`).
    public mutating func observed(leader entry: EtcdEntry?, memberKeys: [EtcdEntry], membersPrefix: String) {
        leader = entry.map { Leader(name: $0.value, revision: $0.createRevision, lease: $0.lease) }
        var names = memberKeys.compactMap { entry -> String? in
            guard entry.key.hasPrefix(membersPrefix), entry.lease != 0 else { return nil }
            return String(entry.key.dropFirst(membersPrefix.count))
        }
        // This member's own key counts only while it is under this member's lease.
        let own = memberKeys.first { $0.key == membersPrefix + name }
        let ownName = name
        if own == nil || own?.lease != lease { names.removeAll { $0 == ownName } }
        members = Set(names).sorted()
        if own == nil || own?.lease != lease { memberRevision = nil }
    }

    /// Whether the lease is confirmed at `now`.
    public func isConfirmed(at now: ContinuousClock.Instant) -> Bool {
        guard lease != nil, memberRevision != nil, let confirmedUntil else { return false }
        return now < confirmedUntil
    }

    /// This member's role at `now`.
    public func role(at now: ContinuousClock.Instant) -> Role {
        guard isConfirmed(at: now) else { return .fenced }
        switch mode {
        case .sharded: return .member
        case .activeStandby: return leadsNow ? .leader : .standby
        }
    }

    /// Whether the leader key, as last read, is this member's under its lease.
    private var leadsNow: Bool { leader.map { $0.name == name && $0.lease == lease } ?? false }

    /// Why this member does not act, at `now`, or nil when it may.
    public func refusal(at now: ContinuousClock.Instant) -> String? {
        switch role(at: now) {
        case .leader, .member: nil
        case .standby: "this member is a standby; \(leader?.name ?? "no member") leads"
        case .fenced: "this member's lease is not confirmed (\(fencedBecause)), so another member may own the pair"
        }
    }

    /// The member that owns `pair` as this member sees it, or nil for none.
    public func owner(of pair: ReleaseHost) -> String? {
        switch mode {
        case .activeStandby: leader?.name
        case .sharded: Rendezvous.owner(of: pair, among: members)
        }
    }

    /// The pairs of `pairs` this member supervises at `now`.
    public func owned(_ pairs: [ReleaseHost], at now: ContinuousClock.Instant) -> Set<ReleaseHost> {
        switch role(at: now) {
        case .fenced, .standby: []
        case .leader: Set(pairs)
        case .member: Set(pairs.filter { Rendezvous.owner(of: $0, among: members) == name })
        }
    }

    /// What to do next at `now`.
    public func next(at now: ContinuousClock.Instant) -> Step {
        guard lease != nil, let lastRenewal else { return .grant }
        if now >= lastRenewal + renewalInterval { return .renew }
        if memberRevision == nil { return .join }
        if mode == .activeStandby, leader == nil, isConfirmed(at: now) { return .campaign }
        return .observe
    }

    /// The leadership's fencing token while this member leads: the leader key's create revision.
    public var leadershipRevision: Int64? { leadsNow ? leader?.revision : nil }
}
