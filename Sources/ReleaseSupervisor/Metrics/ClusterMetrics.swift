import CoreMetrics

/// `controlnode_cluster_role{role}` (1 for this member's role, 0 for the others), `controlnode_cluster_members`
/// (the live members this member sees) and `controlnode_cluster_leader_revision` (the leadership's fencing token,
/// active-standby), kept by the cluster member; none of them exists without `[cluster]`.
enum ClusterMetrics {
    private static let roles = ClusterState.Role.allCases.map { role in
        (role, Gauge(label: "controlnode_cluster_role", dimensions: [("role", role.rawValue)]))
    }
    private static let members = Gauge(label: "controlnode_cluster_members")
    private static let revision = Gauge(label: "controlnode_cluster_leader_revision")

    static func record(_ state: ClusterState, role current: ClusterState.Role) {
        for (role, gauge) in roles { gauge.record(role == current ? 1 : 0) }
        members.record(state.members.count)
        revision.record(state.leader?.revision ?? 0)
    }
}
