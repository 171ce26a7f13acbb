import Logging
import Testing

@testable import ReleaseSupervisor

/// etcd's keys and leases in memory (leases end when their TTL passes), for the member's own logic.
actor MemoryEtcd: EtcdKeyValue {
    private var revision: Int64 = 1
    private var nextLease: Int64 = 100
    private var leases: [Int64: ContinuousClock.Instant] = [:]
    private var ttls: [Int64: Duration] = [:]
    private var keys: [String: EtcdEntry] = [:]
    private func check() throws(EtcdError) {
        expire()
    }

    private func expire() {
        let now = ContinuousClock.now
        for (lease, deadline) in leases where deadline <= now { drop(lease) }
    }

    private func drop(_ lease: Int64) {
        leases[lease] = nil
        keys = keys.filter { $0.value.lease != lease }
    }

    func grantLease(ttl: Duration) async throws(EtcdError) -> (id: Int64, ttl: Duration) {
        try check()
        nextLease += 1
        leases[nextLease] = .now + ttl
        ttls[nextLease] = ttl
        return (nextLease, ttl)
    }

    func keepAlive(lease: Int64) async throws(EtcdError) -> Duration? {
        try check()
        guard leases[lease] != nil, let ttl = ttls[lease] else { return nil }
        leases[lease] = .now + ttl
        return ttl
    }

    func revoke(lease: Int64) async throws(EtcdError) {
        try check()
        drop(lease)
    }

    func get(_ key: String) async throws(EtcdError) -> EtcdEntry? {
        try check()
        return keys[key]
    }

    func list(prefix: String) async throws(EtcdError) -> [EtcdEntry] {
        try check()
        return keys.values.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }
    }

    func create(_ key: String, value: String, lease: Int64) async throws(EtcdError) -> EtcdCreation {
        try check()
        if let held = keys[key] { return .held(held) }
        guard leases[lease] != nil else { throw EtcdError(endpoint: "memory", "requested lease not found") }
        revision += 1
        let entry = EtcdEntry(key: key, value: value, createRevision: revision, modRevision: revision, lease: lease)
        keys[key] = entry
        return .created(entry)
    }

    func delete(_ key: String, heldBy lease: Int64) async throws(EtcdError) {
        try check()
        if keys[key]?.lease == lease { keys[key] = nil }
    }
}

/// One member's link to a shared `MemoryEtcd`, which can be cut: that member alone loses etcd.
actor EtcdLink: EtcdKeyValue {
    let etcd: MemoryEtcd
    private var up = true

    init(_ etcd: MemoryEtcd) { self.etcd = etcd }

    func set(up value: Bool) { up = value }

    private func check() throws(EtcdError) {
        guard up else { throw EtcdError(endpoint: "memory", "cut off") }
    }

    func grantLease(ttl: Duration) async throws(EtcdError) -> (id: Int64, ttl: Duration) {
        try check()
        return try await etcd.grantLease(ttl: ttl)
    }

    func keepAlive(lease: Int64) async throws(EtcdError) -> Duration? {
        try check()
        return try await etcd.keepAlive(lease: lease)
    }

    func revoke(lease: Int64) async throws(EtcdError) {
        try check()
        try await etcd.revoke(lease: lease)
    }

    func get(_ key: String) async throws(EtcdError) -> EtcdEntry? {
        try check()
        return try await etcd.get(key)
    }

    func list(prefix: String) async throws(EtcdError) -> [EtcdEntry] {
        try check()
        return try await etcd.list(prefix: prefix)
    }

    func create(_ key: String, value: String, lease: Int64) async throws(EtcdError) -> EtcdCreation {
        try check()
        return try await etcd.create(key, value: value, lease: lease)
    }

    func delete(_ key: String, heldBy lease: Int64) async throws(EtcdError) {
        try check()
        try await etcd.delete(key, heldBy: lease)
    }
}

@Suite("cluster member against etcd in memory")
struct ClusterMemberTests {
    private static func member(_ name: String, _ etcd: any EtcdKeyValue, mode: ClusterConfig.Mode = .activeStandby) -> ClusterMember {
        var config = ClusterConfig(endpoints: [ClusterConfig.Endpoint(tls: false, host: "memory", port: 1)], memberName: name)
        config.leaseTTL = .seconds(3)
        config.mode = mode
        config.keyPrefix = "/t/"
        return ClusterMember(config: config, etcd: etcd, logger: Logger(label: "test"), pollInterval: .milliseconds(100))
    }

    @Test("two members: one leads, the other stands by; actions are confirmed only for the leader")
    func oneLeads() async throws {
        let etcd = MemoryEtcd()
        let a = Self.member("a", etcd)
        let b = Self.member("b", etcd)
        let tasks = [Task { await a.run() }, Task { await b.run() }]
        defer { for task in tasks { task.cancel() } }
        let pair = ReleaseHost(release: "r", host: "h")
        let settled = await eventually(timeout: .seconds(5)) {
            let roles = [await a.current.role(at: .now), await b.current.role(at: .now)]
            return Set(roles) == [.leader, .standby]
        }
        #expect(settled)
        let leader = await a.current.role(at: .now) == .leader ? a : b
        let standby = leader === a ? b : a
        let allowed = await leader.confirm("start", for: pair)
        #expect(allowed == nil)
        let refusal = await standby.confirm("start", for: pair)
        #expect(refusal?.contains("standby") == true, "\(refusal ?? "")")
        let seen = await standby.current.members
        #expect(seen == ["a", "b"])
    }

    @Test("the leader is cut off from etcd: it is fenced and refuses; once its lease ends the standby leads; it comes back as a standby")
    func takeover() async throws {
        let etcd = MemoryEtcd()
        let link = EtcdLink(etcd)
        let a = Self.member("a", link)
        let taskA = Task { await a.run() }
        defer { taskA.cancel() }
        #expect(await eventually(timeout: .seconds(5)) { await a.current.role(at: .now) == .leader })
        let b = Self.member("b", etcd)
        let taskB = Task { await b.run() }
        defer { taskB.cancel() }
        #expect(await eventually(timeout: .seconds(5)) { await b.current.role(at: .now) == .standby })

        let aLease = try #require(await a.current.lease)
        await link.set(up: false)
        let pair = ReleaseHost(release: "r", host: "h")
        let cut = await a.confirm("restart", for: pair)
        #expect(cut?.contains("cannot confirm") == true, "an unconfirmed action is refused: \(cut ?? "")")
        let cutAt = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(4)) { await a.current.role(at: .now) == .fenced })
        #expect(ContinuousClock.now - cutAt <= .seconds(3), "fenced within the TTL")
        // b leads only once a's lease has ended in etcd (3 s after a's last renewal).
        let standingBy = await b.current.role(at: .now)
        #expect(standingBy == .standby)
        #expect(await eventually(timeout: .seconds(5)) { await b.current.role(at: .now) == .leader })
        let confirmed = await b.confirm("restart", for: pair)
        #expect(confirmed == nil)
        let aMeanwhile = await a.current.role(at: .now)
        #expect(aMeanwhile == .fenced, "never two members that may act")
        await link.set(up: true)
        #expect(await eventually(timeout: .seconds(5)) { await a.current.role(at: .now) == .standby })
        let newLease = await a.current.lease
        #expect(newLease != aLease)
        let refused = await a.confirm("restart", for: pair)
        #expect(refused?.contains("b leads") == true, "\(refused ?? "")")
    }

    @Test("leave() gives up the lease: the other member leads at once")
    func leave() async throws {
        let etcd = MemoryEtcd()
        let a = Self.member("a", etcd)
        let taskA = Task { await a.run() }
        #expect(await eventually(timeout: .seconds(5)) { await a.current.role(at: .now) == .leader })
        let b = Self.member("b", etcd)
        let taskB = Task { await b.run() }
        defer { taskB.cancel() }
        #expect(await eventually(timeout: .seconds(5)) { await b.current.role(at: .now) == .standby })
        await a.leave()
        await taskA.value
        let left = await a.current.role(at: .now)
        #expect(left == .fenced)
        #expect(await eventually(timeout: .seconds(1)) { await b.current.role(at: .now) == .leader })
    }

    @Test("sharded: a member confirms only the pairs that are its own")
    func sharded() async throws {
        let etcd = MemoryEtcd()
        let a = Self.member("a", etcd, mode: .sharded)
        let b = Self.member("b", etcd, mode: .sharded)
        let tasks = [Task { await a.run() }, Task { await b.run() }]
        defer { for task in tasks { task.cancel() } }
        #expect(await eventually(timeout: .seconds(5)) {
            let state = await a.current
            return state.members == ["a", "b"] && state.role(at: .now) == .member
        })
        let pairs = (1...20).map { ReleaseHost(release: "r", host: "h\($0)") }
        let state = await a.current
        let mine = try #require(pairs.first { state.owner(of: $0) == "a" })
        let theirs = try #require(pairs.first { state.owner(of: $0) == "b" })
        let own = await a.confirm("start", for: mine)
        #expect(own == nil)
        let refusal = await a.confirm("start", for: theirs)
        #expect(refusal?.contains("belongs to b") == true, "\(refusal ?? "")")
    }
}
