import Logging
import ReleaseSupervisor

extension Supervisor {
    /// Whether this daemon drives rollouts: always alone; in a cluster, only its leader does (active-standby).
    var drivesRollouts: Bool {
        guard cluster != nil else { return true }
        return clusterState?.role(at: .now) == .leader
    }

    /// `leader; ` before the status line in a cluster (`standby; `, `member; `, `fenced; `), else nothing.
    var clusterRolePrefix: String {
        guard cluster != nil else { return "" }
        guard let clusterState else { return "joining; " }
        return "\(clusterState.role(at: .now).rawValue); "
    }

    /// The member's role, leader or members changed: hand over the pairs it no longer owns (their releases keep
    /// running) and adopt the ones it now owns (through initialize_state, restarting none that is alive).
    func clusterChanged(_ state: ClusterState) async {
        let previous = clusterState
        clusterState = state
        let now = ContinuousClock.now
        let role = state.role(at: now)
        if role != .leader && rolloutsResumed {
            rolloutsResumed = false
            // The step in flight ends (its actions are refused past the fence); the next leader resumes the rollout.
            await engine.interrupt(within: .seconds(20))
        }
        let pairs = (try? config.supervised()) ?? []
        let owned = state.owned(pairs.map(\.key), at: now)
        let leaving = supervising.keys.filter { !owned.contains($0) }.sorted()
        if !leaving.isEmpty {
            logger.notice(
                "handing over \(leaving.count) pairs; their releases keep running",
                metadata: ["event": "cluster_handover", "role": "\(role.rawValue)"])
        }
        for key in leaving { await stop(key) }
        handovers = handovers.filter { owned.contains($0.key) }
        var gained = pairs.filter { owned.contains($0.key) && supervising[$0.key] == nil }
        if state.mode == .sharded {
            gained = gained.filter { handoverDone($0.key, previous: previous, state: state, at: now) }
        }
        if !gained.isEmpty {
            logger.notice(
                "adopting \(gained.count) pairs", metadata: ["event": "cluster_adopting", "role": "\(role.rawValue)"])
            let desired = (try? await store.desiredVersions()) ?? [:]
            start(gained, desired: desired)
        }
        if !ready && supervising.isEmpty {
            markReady()
        } else if ready, drivesRollouts, !rolloutsResumed, initialized.count == supervising.count {
            rolloutsResumed = true
            commandSink.yield(.ready)
        }
        publishStatus()
    }

    /// Whether this daemon supervises `key`: always alone; in a cluster, when it owns the pair now.
    func ownsHere(_ key: ReleaseHost) -> Bool {
        guard cluster != nil else { return true }
        return clusterState?.owned([key], at: .now).contains(key) ?? false
    }

    /// How long a member that gains a pair from a live member waits before it acts on it: four readings of etcd,
    /// by which the live member has seen that it lost the pair and stopped supervising it.
    static let handoverDelay = Duration.seconds(2)

    /// Whether `key`, newly owned, may be adopted now (sharded): at once when its previous owner is gone (its lease
    /// ended, so it is fenced), else once `handoverDelay` has passed; a wake-up is set for then.
    private func handoverDone(_ key: ReleaseHost, previous: ClusterState?, state: ClusterState, at now: ContinuousClock.Instant)
        -> Bool
    {
        if let deadline = handovers[key] {
            if now >= deadline {
                handovers[key] = nil
                return true
            }
            return false
        }
        guard let before = previous?.owner(of: key), before != state.name, state.members.contains(before) else { return true }
        handovers[key] = now + Self.handoverDelay
        let sink = commandSink
        Task {
            try? await Task.sleep(for: Self.handoverDelay)
            sink.yield(.recheckOwnership)
        }
        return false
    }

    /// Why a rollout of `release` cannot be driven by this member, or nil when it can.
    func clusterRolloutRefusal(_ release: String) -> String? {
        guard let clusterState, let settings = config.cluster else { return nil }
        if settings.mode == .sharded {
            return "rollouts are not driven in sharded mode yet: its pairs are spread over the members; run the "
                + "members in active-standby mode to roll out \(release) (nothing was done)"
        }
        guard clusterState.role(at: .now) == .leader else {
            return "this member (\(clusterState.name)) is \(clusterState.role(at: .now).rawValue); rollouts are driven by "
                + "the leader, \(clusterState.leader?.name ?? "none yet"): run the command on its control machine (nothing was done)"
        }
        return nil
    }

    /// For a request about pairs of the configuration that another member supervises: which member, and
    /// where to ask instead.
    func supervisedElsewhere(_ request: ControlRequest) -> String? {
        guard let clusterState, let release = request.release, let pairs = try? config.supervised() else { return nil }
        let hosts = request.hosts ?? request.host.map { [$0] }
        let named = pairs.filter { $0.key.release == release && (hosts == nil || hosts!.contains($0.key.host)) }
        guard !named.isEmpty else { return nil }
        let owners = Set(named.map { clusterState.owner(of: $0.key) ?? "no member" }).sorted()
        let role = clusterState.role(at: .now)
        return "\(release) is supervised by \(owners.joined(separator: ", ")), not by this member "
            + "(\(clusterState.name), \(role.rawValue)); run the command on that member's control machine "
            + "(controlnode cluster status shows the members)"
    }

    /// `cluster-status`: this member, the leader, the members and who owns each pair.
    func clusterStatus() -> ControlResponse {
        guard let cluster, let config = config.cluster else {
            return ControlResponse(ok: false, error: "this daemon is not in a cluster: its configuration has no [cluster] table")
        }
        guard let state = clusterState else {
            return ControlResponse(ok: false, error: "member \(cluster.name) has not heard from etcd yet; try again shortly")
        }
        let now = ContinuousClock.now
        let role = state.role(at: now)
        let pairs = ((try? self.config.supervised()) ?? []).map(\.key).sorted().map { key in
            ClusterRow.Owner(
                release: key.release, host: key.host, owner: supervising[key] != nil ? state.name : state.owner(of: key))
        }
        let row = ClusterRow(
            member: state.name, mode: config.mode.rawValue, role: role.rawValue, leader: state.leader?.name,
            leaderRevision: state.leader?.revision, members: state.members, lease: state.lease.map { String($0, radix: 16) },
            fenced: role == .fenced ? state.fencedBecause : nil, endpoints: config.endpoints.map { "\($0)" }, pairs: pairs)
        return ControlResponse(ok: true, cluster: row)
    }
}
