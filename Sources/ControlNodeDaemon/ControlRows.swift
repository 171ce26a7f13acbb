import ReleaseSupervisor

/// One host of a history record or a rollout, as `--json` shows it.
struct HostRow: Codable, Sendable {
    var host: String
    var from: String?
    var to: String?
    var outcome: String
    var error: String?
    /// The last live update (`healthy 4/10 s`), for a rollout in progress.
    var live: String?

    init(_ step: HostStep, live: RolloutUpdate? = nil) {
        host = step.host
        from = step.from.map { "\($0)" }
        to = step.to.map { "\($0)" }
        outcome = step.outcome.rawValue
        error = step.error
        self.live = live.map(UpdateRow.init).map(\.text)
    }
}

/// One record of `controlnode history --json`.
struct HistoryRow: Codable, Sendable {
    var id: Int64
    var release: String
    var kind: String
    var version: String?
    var requestedBy: String
    var uid: UInt32?
    var user: String?
    var startedAt: String
    var endedAt: String?
    var result: String
    var error: String?
    var hosts: [HostRow]

    enum CodingKeys: String, CodingKey {
        case id, release, kind, version, uid, user, result, error, hosts
        case requestedBy = "requested_by"
        case startedAt = "started_at"
        case endedAt = "ended_at"
    }

    init(_ record: OperationRecord) {
        id = record.id
        release = record.release
        kind = record.kind.rawValue
        version = record.version.map { "\($0)" }
        requestedBy = "\(record.requester)"
        uid = record.requester.uid
        user = record.requester.user
        startedAt = "\(record.startedAt)"
        endedAt = record.endedAt.map { "\($0)" }
        result = record.result.rawValue
        error = record.error
        hosts = record.hosts.map { HostRow($0) }
    }
}

/// One rollout of `controlnode rollout status --json`: the record, its phase and each host's live state.
struct RolloutRow: Codable, Sendable {
    var record: HistoryRow
    var phase: String
    var active: Bool

    init(_ status: RolloutStatus) {
        record = HistoryRow(status.record)
        record.hosts = status.record.hosts.map { HostRow($0, live: status.live[$0.host]) }
        phase = status.phase.rawValue
        active = true
    }

    /// A stored rollout the engine does not hold: ended, or waiting to be resumed once the daemon is ready.
    init(stored record: OperationRecord) {
        self.record = HistoryRow(record)
        active = !record.result.isFinal
        phase = active ? (record.phase?.split(separator: " ").first.map(String.init) ?? "resuming") : "done"
    }
}

/// One live update of a followed rollout.
struct UpdateRow: Codable, Sendable {
    var rollout: Int64
    var host: String?
    var state: String
    var elapsed: Double?
    var window: Double?
    var detail: String?
    var result: String?

    init(_ update: RolloutUpdate) {
        rollout = update.rollout
        host = update.host
        state = update.state
        elapsed = update.healthy?.elapsed
        window = update.healthy?.window
        detail = update.detail
        result = update.result?.rawValue
    }

    /// `healthy 4/10 s`, `failed: why`, `stopping`.
    var text: String {
        if let elapsed, let window { return "healthy \(Int(elapsed))/\(Int(window)) s" }
        if let detail { return state == "staging" ? "staging \(detail)" : "\(state): \(detail)" }
        return state
    }
}

extension ControlResponse {
    /// The line of one update of a followed rollout; the last one (with the result) says `done`.
    static func following(_ update: RolloutUpdate) -> ControlResponse {
        guard let result = update.result else { return ControlResponse(ok: true, rollout: update.rollout, update: UpdateRow(update)) }
        var response = ended(update.rollout, result, error: update.detail)
        response.update = UpdateRow(update)
        return response
    }

    /// The last line of a rollout: ok only when it succeeded, else the result and why.
    static func ended(_ id: Int64, _ result: OperationResult, error: String?) -> ControlResponse {
        let succeeded = result == .succeeded
        return ControlResponse(
            ok: succeeded, error: succeeded ? nil : "rollout #\(id) \(result.rawValue)\(error.map { ": \($0)" } ?? "")",
            message: succeeded ? "rollout #\(id) succeeded" : nil, rollout: id, done: true)
    }
}

/// One event of `controlnode events --json` (one object per line).
struct EventRow: Codable, Sendable {
    var time: String
    var release: String
    var host: String?
    var kind: String
    var reason: String
    var version: String?
    var rollout: Int64?

    init(_ record: EventRecord) {
        time = "\(record.time)"
        release = record.release
        host = record.host
        kind = record.kind
        reason = record.reason
        version = record.version
        rollout = record.rollout
    }

    /// Absent values are written as null, as in `status --json`.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(time, forKey: .time)
        try container.encode(release, forKey: .release)
        try container.encode(host, forKey: .host)
        try container.encode(kind, forKey: .kind)
        try container.encode(reason, forKey: .reason)
        try container.encode(version, forKey: .version)
        try container.encode(rollout, forKey: .rollout)
    }

    /// `2026-12-01T14:03:11Z  ledger  web1  nodedown       node down: connection closed` (`-` for a rollout's
    /// own); the kind is padded so that most reasons line up.
    var text: String {
        let padded = kind.count < Self.kindWidth ? kind + String(repeating: " ", count: Self.kindWidth - kind.count) : kind
        return [time, release, host ?? "-", padded, DisplayText.sanitized(reason)].joined(separator: "  ")
    }

    /// The width of the longest release event kind (`health_failed`).
    private static let kindWidth = 13
}
