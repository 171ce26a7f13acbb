import Testing

@testable import ReleaseSupervisor

@Suite("cluster state machine")
struct ClusterStateTests {
    private let start = ContinuousClock.now
    private let prefix = "/cn/members/"

    private func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int(seconds * 1000)) }

    private func member(_ name: String, lease: Int64, revision: Int64 = 1) -> EtcdEntry {
        EtcdEntry(key: prefix + name, value: name, createRevision: revision, modRevision: revision, lease: lease)
    }

    private func leader(_ name: String, lease: Int64, revision: Int64 = 9) -> EtcdEntry {
        EtcdEntry(key: "/cn/leader", value: name, createRevision: revision, modRevision: revision, lease: lease)
    }

    /// A member that has a lease (granted at 0 s, TTL 10 s) and has joined.
    private func joined(_ mode: ClusterConfig.Mode = .activeStandby) -> ClusterState {
        var state = ClusterState(name: "a", mode: mode, ttl: .seconds(10))
        state.granted(lease: 7, ttl: .seconds(10), sentAt: at(0))
        state.joined(revision: 3)
        return state
    }

    @Test("a new member asks for a lease, joins, then campaigns when nobody leads")
    func joining() {
        var state = ClusterState(name: "a", mode: .activeStandby, ttl: .seconds(10))
        #expect(state.next(at: at(0)) == .grant)
        #expect(state.role(at: at(0)) == .fenced)
        state.granted(lease: 7, ttl: .seconds(10), sentAt: at(0))
        #expect(state.next(at: at(0.1)) == .join)
        #expect(state.role(at: at(0.1)) == .fenced, "no acting before the member key exists")
        state.joined(revision: 3)
        #expect(state.next(at: at(0.2)) == .campaign)
        #expect(state.role(at: at(0.2)) == .standby)
        state.observed(leader: leader("a", lease: 7), memberKeys: [member("a", lease: 7)], membersPrefix: prefix)
        #expect(state.role(at: at(0.3)) == .leader)
        #expect(state.leadershipRevision == 9)
        #expect(state.next(at: at(0.3)) == .observe)
    }

    @Test("renewals fall due at a third of the TTL")
    func renewal() {
        var state = joined()
        state.observed(
            leader: leader("b", lease: 8), memberKeys: [member("a", lease: 7), member("b", lease: 8)], membersPrefix: prefix)
        #expect(state.next(at: at(3.2)) == .observe)
        #expect(state.next(at: at(3.4)) == .renew)
        state.renewed(ttl: .seconds(10), sentAt: at(3.4))
        #expect(state.next(at: at(3.5)) == .observe)
        #expect(state.confirmedUntil == at(11.4))
    }

    @Test("fencing: without a renewal it stops acting before its lease can expire, and a renewal restores it")
    func fencing() {
        var state = joined()
        state.observed(leader: leader("a", lease: 7), memberKeys: [member("a", lease: 7)], membersPrefix: prefix)
        #expect(state.margin == .seconds(2))
        #expect(state.role(at: at(7.9)) == .leader)
        state.failed("etcd unreachable", at: at(7.9))
        #expect(state.role(at: at(8.0)) == .fenced, "stops at send time + TTL - margin, 2 s before etcd could expire it")
        #expect(state.owned([ReleaseHost(release: "r", host: "h")], at: at(8.0)).isEmpty)
        state.failed("etcd unreachable", at: at(8.5))
        #expect(state.refusal(at: at(8.5))?.contains("etcd unreachable") == true)
        state.renewed(ttl: .seconds(10), sentAt: at(8.6))
        #expect(state.role(at: at(8.7)) == .leader)
        #expect(state.role(at: at(16.5)) == .leader)
        #expect(state.role(at: at(16.6)) == .fenced)
    }

    @Test("a lease etcd no longer has: fenced, leadership gone, a new lease asked for")
    func leaseLost() {
        var state = joined()
        state.observed(leader: leader("a", lease: 7), memberKeys: [member("a", lease: 7)], membersPrefix: prefix)
        state.renewed(ttl: nil, sentAt: at(3.4))
        #expect(state.lease == nil && state.leader == nil)
        #expect(state.role(at: at(3.5)) == .fenced)
        #expect(state.next(at: at(3.5)) == .grant)
        #expect(state.members.isEmpty)
    }

    @Test("a TTL longer than asked confirms no more than the configured one")
    func longerTTL() {
        var state = ClusterState(name: "a", mode: .activeStandby, ttl: .seconds(10))
        state.granted(lease: 7, ttl: .seconds(60), sentAt: at(0))
        state.joined(revision: 3)
        #expect(state.confirmedUntil == at(8))
    }

    @Test("another member's leadership makes this one a standby that owns nothing")
    func standby() {
        var state = joined()
        state.observed(
            leader: leader("b", lease: 8), memberKeys: [member("a", lease: 7), member("b", lease: 8)], membersPrefix: prefix)
        #expect(state.role(at: at(1)) == .standby)
        #expect(state.owned([ReleaseHost(release: "r", host: "h")], at: at(1)).isEmpty)
        #expect(state.owner(of: ReleaseHost(release: "r", host: "h")) == "b")
        #expect(state.refusal(at: at(1))?.contains("b leads") == true)
        #expect(state.next(at: at(1)) == .observe, "no campaign while someone leads")
    }

    @Test("a leader key under an older lease of this member's name is not leadership")
    func staleLeaderKey() {
        var state = joined()
        state.observed(leader: leader("a", lease: 5), memberKeys: [member("a", lease: 7)], membersPrefix: prefix)
        #expect(state.role(at: at(1)) == .standby)
    }

    @Test("its member key gone from etcd: it joins again before acting")
    func memberKeyGone() {
        var state = joined()
        state.observed(leader: nil, memberKeys: [member("b", lease: 8)], membersPrefix: prefix)
        #expect(state.role(at: at(1)) == .fenced)
        #expect(state.next(at: at(1)) == .join)
        #expect(state.members == ["b"])
    }

    @Test("sharded: the pairs split among the live members, and a member leaving moves only its own")
    func sharded() {
        var state = joined(.sharded)
        let pairs = (1...200).map { ReleaseHost(release: "r\($0 % 5)", host: "h\($0)") }
        let three = [member("a", lease: 7), member("b", lease: 8), member("c", lease: 9)]
        state.observed(leader: nil, memberKeys: three, membersPrefix: prefix)
        #expect(state.role(at: at(1)) == .member)
        let mine = state.owned(pairs, at: at(1))
        var owners: [String: Set<ReleaseHost>] = [:]
        for pair in pairs { owners[state.owner(of: pair)!, default: []].insert(pair) }
        #expect(owners["a"] == mine)
        #expect(owners.values.map(\.count).reduce(0, +) == 200)
        #expect(owners.values.allSatisfy { $0.count > 40 }, "each of 3 members gets a fair share: \(owners.mapValues(\.count))")
        state.observed(leader: nil, memberKeys: [three[0], three[2]], membersPrefix: prefix)
        for pair in pairs where owners["b"]?.contains(pair) != true {
            #expect(Rendezvous.owner(of: pair, among: state.members) == Rendezvous.owner(of: pair, among: ["a", "b", "c"]))
        }
        #expect(state.owned(pairs, at: at(1)).isSuperset(of: mine))
    }

    @Test("rendezvous weights are the same on every run (not Swift's seeded hash)")
    func stableWeights() {
        let pair = ReleaseHost(release: "service_app", host: "host1")
        #expect(Rendezvous.weight(member: "ctl-a", pair: pair) == Rendezvous.weight(member: "ctl-a", pair: pair))
        // Pinned: FNV-1a over "ctl-a", "service_app", "host1" with 0xFF after each, then splitmix64's finaliser.
        #expect(Rendezvous.weight(member: "ctl-a", pair: pair) == 0xc79e_f634_d55d_f91b)
        #expect(
            Rendezvous.weight(member: "ab", pair: ReleaseHost(release: "c", host: "d"))
                != Rendezvous.weight(member: "a", pair: ReleaseHost(release: "bc", host: "d")))
        #expect(Rendezvous.owner(of: pair, among: []) == nil)
    }
}
