import Logging

extension RolloutEngine {
    /// What a step reports while it runs, on its way to the engine.
    typealias Progress = (host: String, progress: RolloutStepProgress)

    /// One rollout from its first action to its end: feeds the machine what happened, stores what it changed,
    /// then carries out what it asks. The hosts' steps are child tasks; their results come back as events.
    func drive(_ release: String, events: AsyncStream<RolloutStateMachine.Event>) async {
        guard let first = runs[release] else { return }
        let id = first.record.id
        let (progress, progressSink) = AsyncStream.makeStream(of: Progress.self, bufferingPolicy: .bufferingNewest(64))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await (host, step) in progress { await self.report(id, release, host, step) }
            }
            var actions = runs[release]?.machine.start() ?? []
            var ended = false
            var iterator = events.makeAsyncIterator()
            while !ended {
                guard await persist(release) else {
                    actions = runs[release]?.machine.handle(.interrupt) ?? []
                    if actions.isEmpty { break }
                    continue
                }
                for action in actions {
                    if await perform(action, release, sink: first.events, progress: progressSink, group: &group) {
                        ended = true
                    }
                }
                if ended { break }
                guard let event = await iterator.next() else { break }
                if case .staged(let host) = event { runs[release]?.staged.insert(host) }
                actions = runs[release]?.machine.handle(event) ?? []
            }
            progressSink.finish()
            if !ended { group.cancelAll() }
        }
        // Only this rollout's own entry: once it has finished, a new rollout of the release may already be there.
        if let run = runs[release], run.record.id == id, !(run.machine.result?.isFinal ?? false) {
            // Cancelled before the machine ended: the store keeps the steps; the next start resumes.
            do {
                try await store.update(
                    operation: run.record.id, result: .interrupted, error: run.machine.error, phase: run.machine.checkpoint)
            } catch {
                logger.error("cannot record rollout #\(run.record.id) as interrupted: \(error)", metadata: ["event": "store_failed"])
            }
            log(.notice, "rollout_interrupted", run.record, nil, "rollout #\(run.record.id) interrupted; the next start resumes it")
            for follower in run.followers.values { follower.finish() }
        }
        if runs[release]?.record.id == id { runs[release] = nil }
    }

    /// Stores every step the machine changed since the last write, each with the desired version it implies
    /// (changing: the new version; reverting: the previous one), and the checkpoint. False when the store failed.
    private func persist(_ release: String) async -> Bool {
        guard var run = runs[release] else { return false }
        let changed = run.machine.steps.filter { step in run.stored.first { $0.host == step.host } != step }
        for step in changed {
            let desired: DesiredVersion??
            switch step.outcome {
            case .updating, .unchanged:
                desired = .some(step.to.map { DesiredVersion(version: $0, setBy: run.record.summary, operation: run.record.id) })
            case .reverting:
                desired = .some(step.from.map {
                    DesiredVersion(version: $0, setBy: "\(run.record.summary), reverted", operation: run.record.id)
                })
            default:
                desired = nil
            }
            do {
                try await store.record(step, of: run.record.id, release: release, desired: desired, phase: run.machine.checkpoint)
            } catch {
                logger.critical(
                    "cannot record rollout #\(run.record.id): \(error); no further host is changed",
                    metadata: ["event": "rollout_failed", "rollout_id": "\(run.record.id)", "release": "\(release)"])
                return false
            }
            run.stored.removeAll { $0.host == step.host }
            run.stored.append(step)
            if let update = hostUpdate(run.record.id, step) { broadcast(release, update) }
        }
        run.record.hosts = run.machine.steps
        guard runs[release] != nil else { return true }
        runs[release]?.stored = run.stored
        runs[release]?.record.hosts = run.record.hosts
        return true
    }

    /// Carries out one action; true when it ended the rollout.
    private func perform(
        _ action: RolloutStateMachine.Action, _ release: String, sink: AsyncStream<RolloutStateMachine.Event>.Continuation,
        progress: AsyncStream<Progress>.Continuation, group: inout TaskGroup<Void>
    ) async -> Bool {
        guard let run = runs[release] else { return true }
        switch action {
        case .stage(let host):
            guard let actor = run.actors[host], let version = run.machine.step(host)?.to else {
                sink.yield(.stageFailed(host, reason: "the host is no longer supervised"))
                return false
            }
            broadcast(release, RolloutUpdate(rollout: run.record.id, host: host, state: "staging"))
            group.addTask {
                do {
                    try await actor.stage(version) { progress.yield((host, $0)) }
                    sink.yield(.staged(host))
                } catch {
                    sink.yield(.stageFailed(host, reason: "\(error)"))
                }
            }
        case .update(let host), .revert(let host, _):
            guard let actor = run.actors[host], let step = run.machine.step(host) else {
                sink.yield(.updateFailed(host, reason: "the host is no longer supervised", versionAtFault: false))
                return false
            }
            let reverting: Bool
            let target: ReleaseVersion?
            if case .revert(_, let to) = action { (reverting, target) = (true, to) } else { (reverting, target) = (false, step.to) }
            let policy = reverting ? Self.revertPolicy(run.policy) : run.policy
            let staged = !reverting && run.staged.contains(host)
            group.addTask {
                let result = await actor.change(to: target, policy: policy, staged: staged) { progress.yield((host, $0)) }
                switch (result, reverting) {
                case (.healthy, false): sink.yield(.updated(host))
                case (.healthy, true): sink.yield(.reverted(host))
                case (.failed(let reason, let atFault), false):
                    sink.yield(.updateFailed(host, reason: reason, versionAtFault: atFault))
                case (.failed(let reason, _), true): sink.yield(.revertFailed(host, reason: reason))
                }
            }
        case .awaitPromotion:
            do {
                try await store.update(
                    operation: run.record.id, result: .awaitingPromotion, error: nil, phase: run.machine.checkpoint)
            } catch {
                logger.error("cannot record rollout #\(run.record.id) as awaiting promotion: \(error)", metadata: ["event": "store_failed"])
            }
            runs[release]?.record.result = .awaitingPromotion
            log(.notice, "rollout_awaiting_promotion", run.record, nil,
                "rollout #\(run.record.id): canaries healthy; `controlnode rollout promote \(release)` goes on, `abort` reverts them")
            broadcast(release, RolloutUpdate(rollout: run.record.id, state: "awaiting_promotion"))
        case .quarantine(let host, let reason):
            guard let version = run.machine.step(host)?.to else { return false }
            do {
                try await store.quarantine(QuarantinedVersion(
                    release: release, version: version, operation: run.record.id, reason: reason, at: .now()))
            } catch {
                logger.error("cannot quarantine \(release) \(version): \(error)", metadata: ["event": "quarantine_failed"])
            }
            log(.warning, "version_quarantined", run.record, host, "version \(version) of \(release) quarantined: \(reason)")
        case .finish(let result):
            await finish(release, result)
            return true
        }
        return false
    }

    /// A revert puts back a version known to work: it is watched only until it answers.
    static func revertPolicy(_ policy: UpdatePolicy) -> UpdatePolicy {
        var revert = policy
        revert.minHealthyTime = .zero
        return revert
    }

    private func finish(_ release: String, _ result: OperationResult) async {
        guard var run = runs[release] else { return }
        run.record.result = result
        run.record.error = run.machine.error
        do {
            try await store.update(operation: run.record.id, result: result, error: run.machine.error, phase: run.machine.checkpoint)
        } catch {
            logger.critical("cannot record the end of rollout #\(run.record.id): \(error)", metadata: ["event": "store_failed"])
        }
        // Old versions go while the rollout still holds the release: a request meanwhile is told busy, rather than a
        // new rollout's step finding a host busy with the removal.
        if result == .succeeded { await prune(run) }
        let level: Logger.Level = result == .succeeded ? .notice : .warning
        let why = run.machine.error.map { ": \($0)" } ?? ""
        log(level, "rollout_\(result.rawValue)", run.record, nil, "rollout #\(run.record.id) of \(release) \(result.rawValue)\(why)")
        let final = RolloutUpdate(rollout: run.record.id, state: result.rawValue, detail: run.machine.error, result: result)
        for follower in (runs[release]?.followers ?? run.followers).values {
            follower.yield(final)
            follower.finish()
        }
        runs[release] = nil
        RolloutMetrics.finished(release: release, result: result, since: run.started, inProgress: runs.count)
    }

    /// After a successful rollout: each changed host keeps `keep_versions` versions, the new and the previous
    /// one always among them.
    private func prune(_ run: Run) async {
        for step in run.machine.steps where step.outcome == .updated {
            guard let actor = run.actors[step.host] else { continue }
            let protected = Set([step.to, step.from].compactMap { $0 })
            do {
                let removed = try await actor.prune(keep: run.policy.keepVersions, protecting: protected)
                if !removed.isEmpty {
                    logger.info(
                        "removed old versions \(removed.map { "\($0)" }.joined(separator: ", "))",
                        metadata: ["event": "versions_removed", "release": "\(run.record.release)", "host": "\(step.host)"])
                }
            } catch {
                logger.warning(
                    "could not remove old versions: \(error)",
                    metadata: ["event": "versions_not_removed", "release": "\(run.record.release)", "host": "\(step.host)"])
            }
        }
    }

    /// A step's progress, to followers (the CLI's live lines).
    private func report(_ id: Int64, _ release: String, _ host: String, _ progress: RolloutStepProgress) {
        guard runs[release]?.record.id == id else { return }
        var update = RolloutUpdate(rollout: id, host: host, state: "")
        switch progress {
        case .staging(let sent, let total):
            update.state = "staging"
            update.detail = "\(Self.megabytes(sent))/\(Self.megabytes(total)) MB sent"
        case .stopping: update.state = "stopping"
        case .starting: update.state = "starting"
        case .healthy(let elapsed, let window):
            update.state = "healthy"
            update.healthy = (Self.seconds(elapsed), Self.seconds(window))
        }
        broadcast(release, update)
    }

    private static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 500_000) / 1_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    func broadcast(_ release: String, _ update: RolloutUpdate) {
        guard var run = runs[release] else { return }
        if let host = update.host { run.live[host] = update }
        for follower in run.followers.values { follower.yield(update) }
        runs[release]?.live = run.live
    }

    /// The update a stored step means for followers, and its journal event.
    private func hostUpdate(_ id: Int64, _ step: HostStep) -> RolloutUpdate? {
        guard let record = runs.values.first(where: { $0.record.id == id })?.record else { return nil }
        let event: String?
        switch step.outcome {
        case .staged: event = "host_staged"
        case .updated: event = "host_updated"
        case .failed: event = "host_failed"
        case .reverted: event = "host_reverted"
        case .revertFailed: event = "host_revert_failed"
        default: event = nil
        }
        if let event {
            let level: Logger.Level = step.outcome == .failed || step.outcome == .revertFailed ? .warning : .info
            let why = step.error.map { ": \($0)" } ?? ""
            log(level, event, record, step.host, "rollout #\(id): \(step.host) \(step.outcome.rawValue)\(why)", version: step.to)
        }
        return update(id, step)
    }

    func update(_ id: Int64, _ step: HostStep) -> RolloutUpdate {
        RolloutUpdate(rollout: id, host: step.host, state: step.outcome.rawValue, detail: step.error)
    }

    /// A journal entry of the rollout: `EVENT=`, `ROLLOUT_ID=`, `RELEASE=`, `HOST=` (when one), `VERSION=`; the
    /// same step is published to the event log, so the journal and `controlnode events` tell one story.
    func log(
        _ level: Logger.Level, _ event: String, _ record: OperationRecord, _ host: String?, _ message: String,
        version: ReleaseVersion? = nil
    ) {
        let versionText = version.map { "\($0)" } ?? versionText(record)
        var metadata: Logger.Metadata = [
            "event": "\(event)", "rollout_id": "\(record.id)", "release": "\(record.release)", "version": "\(versionText)",
        ]
        if let host { metadata["host"] = "\(host)" }
        logger.log(level: level, "\(message)", metadata: metadata)
        eventLog?.publish(EventRecord(
            time: .now(), release: record.release, host: host, kind: event, reason: message,
            version: versionText.isEmpty ? nil : versionText, rollout: record.id))
    }

    func versionText(_ record: OperationRecord) -> String {
        if let version = record.version { return "\(version)" }
        return Set(record.hosts.compactMap(\.to)).map { "\($0)" }.sorted().joined(separator: ",")
    }
}
