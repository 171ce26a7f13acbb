public import Logging

/// A rollout to start: the release's hosts in order, each with the version it is to run, and the actors that
/// supervise them.
public struct RolloutRequest: Sendable {
    /// The release.
    public var release: String
    /// `deploy`, `rollback` or `config`.
    public var kind: OperationKind
    /// The hosts in the rollout's order, each with its target version.
    public var targets: [(host: String, version: ReleaseVersion)]
    /// The actors of those hosts, by host name.
    public var actors: [String: ReleaseActor]
    /// How the hosts are changed.
    public var policy: UpdatePolicy
    /// Who asked.
    public var requester: Requester
    /// For a `config` rollout: the configuration's `version` it answers, recorded with it.
    public var configRequest: ReleaseVersion?
    /// Deploy a quarantined version anyway (and lift its quarantine).
    public var force = false

    /// A rollout of `targets` under `policy`, asked for by `requester`.
    public init(
        release: String, kind: OperationKind, targets: [(host: String, version: ReleaseVersion)],
        actors: [String: ReleaseActor], policy: UpdatePolicy, requester: Requester
    ) {
        self.release = release
        self.kind = kind
        self.targets = targets
        self.actors = actors
        self.policy = policy
        self.requester = requester
    }
}

/// A rollout in progress, as `rollout status` shows it.
public struct RolloutStatus: Sendable {
    /// The stored record, its steps as they stand.
    public var record: OperationRecord
    /// The machine's phase.
    public var phase: RolloutStateMachine.Phase
    /// The last live update of each host.
    public var live: [String: RolloutUpdate]
}

/// Runs rollouts: one at a time per release, any number of releases at once. Each rollout's decisions come from
/// its `RolloutStateMachine`; the engine stores every step the machine changes (with the desired version it
/// implies) before it acts on it, carries out the actions through the release actors, reports each step to the
/// journal and to followers, and on SIGTERM lets the steps in flight finish and records `interrupted`.
public actor RolloutEngine {
    struct Run {
        var record: OperationRecord
        var machine: RolloutStateMachine
        let policy: UpdatePolicy
        let actors: [String: ReleaseActor]
        let events: AsyncStream<RolloutStateMachine.Event>.Continuation
        var stored: [HostStep]
        /// Hosts this rollout staged: their change starts the version without asking whether it is there.
        var staged: Set<String> = []
        var followers: [Int: AsyncStream<RolloutUpdate>.Continuation] = [:]
        var live: [String: RolloutUpdate] = [:]
        /// When this daemon took it up, for `controlnode_deploy_duration_seconds`.
        let started = ContinuousClock.now
    }

    let store: any StateStore
    let logger: Logger
    /// Where every step logged also goes, for `controlnode events`.
    let eventLog: EventLog?
    var runs: [String: Run] = [:]
    /// Releases whose rollout is being planned: a second request meanwhile is refused as if it ran.
    private var planning: Set<String> = []
    private var nextFollower = 0
    private let launches: AsyncStream<(String, AsyncStream<RolloutStateMachine.Event>)>
    private let launchSink: AsyncStream<(String, AsyncStream<RolloutStateMachine.Event>)>.Continuation

    /// An engine recording into `store`; each step it logs is published to `eventLog` too.
    public init(store: any StateStore, logger: Logger, eventLog: EventLog? = nil) {
        self.store = store
        self.logger = logger
        self.eventLog = eventLog
        (launches, launchSink) = AsyncStream.makeStream()
    }

    /// Carries out every rollout started or resumed, each as a child task, until cancelled.
    public func run() async {
        RolloutMetrics.inProgress(0)
        await withDiscardingTaskGroup { group in
            for await (release, events) in launches {
                group.addTask { await self.drive(release, events: events) }
            }
        }
    }

    /// The rollout in progress for `release`, if any.
    public func activeRollout(of release: String) -> Int64? { runs[release]?.record.id }

    /// Every rollout in progress, of `release` or of all.
    public func status(release: String?) -> [RolloutStatus] {
        runs.values.filter { release == nil || $0.record.release == release }.sorted { $0.record.id < $1.record.id }
            .map { RolloutStatus(record: $0.record, phase: $0.machine.phase, live: $0.live) }
    }

    /// Plans and records a rollout, then starts it; returns its id.
    ///
    /// - Throws: `RolloutError`: another rollout of the release runs (`busy`, with its id), a target version is
    ///   quarantined and `force` is off, or the store cannot record it (then nothing is done).
    public func begin(_ request: RolloutRequest) async throws(RolloutError) -> Int64 {
        let release = request.release
        if let running = runs[release] {
            throw RolloutError(
                .busy, release: release,
                "busy: rollout #\(running.record.id) is in progress; follow it with `controlnode rollout status \(release)`",
                rollout: running.record.id)
        }
        guard planning.insert(release).inserted else {
            throw RolloutError(.busy, release: release, "busy: another rollout is being started; try again in a moment")
        }
        defer { planning.remove(release) }
        try await checkQuarantine(request)
        var steps: [HostStep] = []
        var idle: Set<String> = []
        for (position, target) in request.targets.enumerated() {
            let running = await request.actors[target.host]?.runningVersion
            let before = running == nil ? await request.actors[target.host]?.desired : running
            if running == nil { idle.insert(target.host) }
            steps.append(HostStep(
                host: target.host, position: position, from: before, to: target.version,
                outcome: running == target.version ? .unchanged : .pending))
        }
        let machine = RolloutStateMachine(steps: steps, policy: request.policy, idle: idle)
        let versions = Set(request.targets.map(\.version))
        var record = OperationRecord(
            release: release, kind: request.kind, version: versions.count == 1 ? versions.first : nil,
            requester: request.requester, hosts: steps, settings: request.policy.storedText, phase: machine.checkpoint)
        do {
            record.id = try await store.begin(record, configRequest: request.configRequest)
        } catch {
            throw RolloutError(.store, release: release, "cannot record the rollout, so it was not started: \(error)")
        }
        for step in steps where step.outcome == .unchanged {
            await request.actors[step.host]?.setDesired(step.to)
        }
        // The hosts already on the version are written again by the first store of the drive, with their desired
        // version; the others are stored as they are.
        launch(
            record, machine: machine, policy: request.policy, actors: request.actors,
            stored: steps.filter { $0.outcome != .unchanged })
        log(
            .notice, "rollout_started", record, nil,
            "rollout #\(record.id) of \(release) to \(versionText(record)) started (\(request.kind.rawValue) by \(request.requester))")
        return record.id
    }

    private func checkQuarantine(_ request: RolloutRequest) async throws(RolloutError) {
        let quarantined: [QuarantinedVersion]
        do {
            quarantined = try await store.quarantined(release: request.release)
        } catch {
            throw RolloutError(.store, release: request.release, "cannot read the quarantine list: \(error)")
        }
        for entry in quarantined where request.targets.contains(where: { $0.version == entry.version }) {
            guard request.force else {
                throw RolloutError(
                    .quarantined, release: request.release,
                    "version \(entry.version) is quarantined: it failed rollout #\(entry.operation.map(String.init) ?? "?") "
                        + "(\(entry.reason)); fix it and deploy a new version, or deploy with --force to try it again")
            }
            do {
                try await store.liftQuarantine(release: request.release, version: entry.version)
            } catch {
                throw RolloutError(.store, release: request.release, "cannot lift the quarantine: \(error)")
            }
            logger.notice(
                "quarantine of \(request.release) \(entry.version) lifted by a forced deploy",
                metadata: ["event": "quarantine_lifted", "release": "\(request.release)", "version": "\(entry.version)"])
        }
    }

    /// Takes up a rollout the store says has not ended (the daemon stopped or died in its middle).
    public func resume(_ record: OperationRecord, actors: [String: ReleaseActor]) async {
        guard !record.result.isFinal, runs[record.release] == nil else { return }
        let policy = UpdatePolicy(storedText: record.settings ?? "")
        var idle: Set<String> = []
        for step in record.hosts where await actors[step.host]?.runningVersion == nil { idle.insert(step.host) }
        let machine = RolloutStateMachine(
            resuming: record.hosts, checkpoint: record.phase ?? "updating", error: record.error, policy: policy, idle: idle)
        var running = record
        running.result = machine.phase == .awaitingPromotion ? .awaitingPromotion : .running
        do {
            try await store.update(operation: record.id, result: running.result, error: record.error, phase: nil)
        } catch {
            logger.error(
                "cannot resume rollout #\(record.id): \(error)",
                metadata: ["event": "rollout_failed", "rollout_id": "\(record.id)", "release": "\(record.release)"])
            return
        }
        launch(running, machine: machine, policy: policy, actors: actors, stored: record.hosts)
        log(.notice, "rollout_resumed", running, nil, "rollout #\(record.id) of \(record.release) resumed (\(machine.checkpoint))")
    }

    private func launch(
        _ record: OperationRecord, machine: RolloutStateMachine, policy: UpdatePolicy, actors: [String: ReleaseActor],
        stored: [HostStep]
    ) {
        let (events, sink) = AsyncStream.makeStream(of: RolloutStateMachine.Event.self)
        runs[record.release] = Run(
            record: record, machine: machine, policy: policy, actors: actors, events: sink, stored: stored,
            staged: Set(stored.filter { $0.outcome == .staged }.map(\.host)))
        launchSink.yield((record.release, events))
        RolloutMetrics.inProgress(runs.count)
    }

    /// `rollout promote`: the canaries are accepted; the rest of the hosts follow.
    public func promote(release: String) throws(RolloutError) -> Int64 {
        guard let run = runs[release], run.machine.canPromote else {
            throw RolloutError(
                .notInProgress, release: release,
                runs[release] == nil ? "no rollout is in progress" : "rollout #\(runs[release]!.record.id) is not waiting for promotion")
        }
        run.events.yield(.promote)
        return run.record.id
    }

    /// `rollout abort`: no more hosts change, and every changed host goes back to its previous version.
    public func abort(release: String) throws(RolloutError) -> Int64 {
        guard let run = runs[release] else { throw RolloutError(.notInProgress, release: release, "no rollout is in progress") }
        run.events.yield(.abort)
        return run.record.id
    }

    /// Live updates of the rollout of `release` (the hosts as they stand first), until it ends; nil when none runs.
    public func follow(release: String) -> AsyncStream<RolloutUpdate>? {
        guard var run = runs[release] else { return nil }
        let (stream, sink) = AsyncStream.makeStream(of: RolloutUpdate.self, bufferingPolicy: .bufferingNewest(256))
        for step in run.machine.steps { sink.yield(run.live[step.host] ?? update(run.record.id, step)) }
        let key = nextFollower
        nextFollower += 1
        run.followers[key] = sink
        runs[release] = run
        sink.onTermination = { _ in Task { await self.unfollow(release, key) } }
        return stream
    }

    private func unfollow(_ release: String, _ key: Int) { runs[release]?.followers[key] = nil }

    /// The daemon is stopping: every rollout finishes its steps in flight and records `interrupted`. Waits at most
    /// `limit`; a rollout still busy then is left as the store has it, to be resumed.
    public func interrupt(within limit: Duration) async {
        for run in runs.values { run.events.yield(.interrupt) }
        let deadline = ContinuousClock.now + limit
        while !runs.isEmpty && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
    }
}
