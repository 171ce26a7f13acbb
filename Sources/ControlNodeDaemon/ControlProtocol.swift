import FoundationEssentials
import ReleaseSupervisor

/// One request from the CLI to the daemon, as one JSON line on the control socket.
struct ControlRequest: Codable, Sendable {
    var command: String
    var release: String?
    var host: String?
    var version: String?
    var replace: Bool?
    /// `deploy` and `rollback`: the hosts (`--host`, repeatable); all of the release's when absent.
    var hosts: [String]?
    /// `deploy`: overrides of the release's update settings.
    var maxParallel: Int?
    var canary: Int?
    /// `deploy`: deploy a quarantined version anyway.
    var force: Bool?
    /// `deploy` and `rollback`: answer with the rollout's id at once instead of following it.
    var detach: Bool?
    /// `history`: at most this many records; `events`: at most this many earlier events.
    var limit: Int?
    /// `logs`: the last this many lines first. `logs` and `events`: with `follow`, then each new line or event as it
    /// happens, until the caller goes.
    var lines: Int?
    var follow: Bool?
    /// `events`: the events of the last this many seconds, from the store too.
    var since: Int64?
    /// `eval`: the expression, Erlang rather than Elixir, and the seconds it may take.
    var expression: String?
    var erlang: Bool?
    var timeout: Int?
    /// `remote`: the caller's terminal type and size; `remote-resize`: the shell (`ControlResponse.shell`) and its
    /// new size.
    var terminal: String?
    var columns: Int?
    var rows: Int?
    var shell: String?

    /// Whether the request changes anything (these are logged with the caller's uid). `eval` and `remote` can change
    /// anything on the node, so they are.
    var isMutating: Bool {
        !["status", "history", "rollout-status", "events", "logs", "remote-resize", "cluster-status"].contains(command)
    }

    /// Whether the answer holds the connection open until the caller closes it (a tunnel, a remote shell;
    /// `ControlLimits.tunnels`).
    var holdsConnection: Bool { command == "tunnel" || command == "remote" }

    enum CodingKeys: String, CodingKey {
        case command, release, host, version, replace, hosts, canary, force, detach, limit, since
        case lines, follow, expression, erlang, timeout, terminal, columns, rows, shell
        case maxParallel = "max_parallel"
    }
}

extension ControlRequest {
    /// The request a line from the control socket holds (without its newline), or nil when it is not one.
    ///
    /// In an extension, so that the memberwise initializer the CLI builds requests with stays.
    init?(line: [UInt8]) {
        guard let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line)) else { return nil }
        self = request
    }
}

/// The daemon's answer, as one JSON line.
struct ControlResponse: Codable, Sendable {
    var ok: Bool
    var error: String?
    var message: String?
    var status: [StatusRow]?
    /// The rollout a deploy or rollback started, or a promote or abort acted on.
    var rollout: Int64?
    /// One live update of a followed rollout.
    var update: UpdateRow?
    /// On the last line of a followed rollout.
    var done: Bool?
    /// `history`.
    var history: [HistoryRow]?
    /// `rollout status`.
    var rollouts: [RolloutRow]?
    /// `events`: the earlier events, oldest first.
    var events: [EventRow]?
    /// `events --follow`: one new event.
    var event: EventRow?
    /// `logs`: one line of a host's log (control characters escaped), and the host.
    var line: String?
    var host: String?
    /// `remote`: the shell's id, which `remote-resize` names to pass on a new window size.
    var shell: String?
    /// `cluster status`.
    var cluster: ClusterRow?
}

/// `controlnode cluster status --json`: this member, the leader, the members and who owns each pair.
struct ClusterRow: Codable, Sendable {
    /// One (release, host) and the member that supervises it.
    struct Owner: Codable, Sendable {
        var release: String
        var host: String
        var owner: String?
    }

    var member: String
    var mode: String
    /// `leader`, `standby`, `member` (sharded) or `fenced` (its lease is not confirmed: it acts on nothing).
    var role: String
    var leader: String?
    /// The leader key's create revision: the leadership's fencing token.
    var leaderRevision: Int64?
    var members: [String]
    var lease: String?
    /// Why the member is fenced, when it is.
    var fenced: String?
    var endpoints: [String]
    var pairs: [Owner]

    enum CodingKeys: String, CodingKey {
        case member, mode, role, leader, members, lease, fenced, endpoints, pairs
        case leaderRevision = "leader_revision"
    }
}

/// One (release, host) in `controlnode status --json`.
struct StatusRow: Codable, Sendable {
    var release: String
    var host: String
    var node: String?
    var status: String
    var version: String?
    var mode: String
    var tunnelPort: Int?
    var osPid: Int?
    var restarts: Int
    var since: String?
    var lastError: String?
    var desiredVersion: String?
    var desiredBy: String?
    var drift: Bool
    /// The last health check on this connection: `ok`, `failing`, or null (none yet, or no check configured).
    var health: String?
    /// Health checks failed in a row.
    var healthFailures: Int

    enum CodingKeys: String, CodingKey {
        case release, host, node, status, version, mode, restarts, since, drift
        case tunnelPort = "tunnel_port"
        case osPid = "os_pid"
        case lastError = "last_error"
        case desiredVersion = "desired_version"
        case desiredBy = "desired_by"
        case health
        case healthFailures = "health_failures"
    }

    /// Absent values are written as null, not left out, as `status --json` promises.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(release, forKey: .release)
        try container.encode(host, forKey: .host)
        try container.encode(node, forKey: .node)
        try container.encode(status, forKey: .status)
        try container.encode(version, forKey: .version)
        try container.encode(mode, forKey: .mode)
        try container.encode(tunnelPort, forKey: .tunnelPort)
        try container.encode(osPid, forKey: .osPid)
        try container.encode(restarts, forKey: .restarts)
        try container.encode(since, forKey: .since)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(desiredVersion, forKey: .desiredVersion)
        try container.encode(desiredBy, forKey: .desiredBy)
        try container.encode(drift, forKey: .drift)
        try container.encode(health, forKey: .health)
        try container.encode(healthFailures, forKey: .healthFailures)
    }

    /// The row of `state`; `drift` when it runs a version other than `desired`.
    init(_ state: ReleaseState, mode: ControlMode, desired: ReleaseVersion?, desiredBy: String?) {
        release = state.release
        host = state.host
        node = state.nodeName.map { "\($0)" }
        status = "\(state.status)"
        version = state.version.map { "\($0)" }
        self.mode = mode.rawValue
        tunnelPort = state.localTunnelPort.map(Int.init)
        osPid = state.osPid.map(Int.init)
        restarts = state.restartCount
        since = state.connectedSince.map { "\($0)" }
        switch state.status {
        case .failed(let reason), .unreachable(let reason): lastError = reason
        default: lastError = state.lastError
        }
        desiredVersion = desired.map { "\($0)" }
        self.desiredBy = desired == nil ? nil : desiredBy
        drift = state.status == .running && desired != nil && state.version != desired
        health = state.healthy.map { $0 ? "ok" : "failing" }
        healthFailures = state.healthFailures
    }
}

extension JSONEncoder {
    /// Encodes `value` as one line (JSON never holds a raw newline) with absent values as null.
    static func line<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value)) + [10]
    }
}
