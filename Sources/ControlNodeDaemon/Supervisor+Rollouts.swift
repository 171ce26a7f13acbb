import Logging
import ReleaseSupervisor

extension Supervisor {
    /// `deploy` and `rollback`: a rollout of the release's named hosts (all by default), followed line by line
    /// unless detached.
    func rollout(_ request: ControlRequest, from requester: Requester) async -> ControlAnswer {
        guard let release = request.release, let settings = config.releases[release] else {
            return ControlAnswer(unknown(request))
        }
        guard settings.mode == .manage else {
            return ControlAnswer(ControlResponse(
                ok: false, error: "release \(release) is in \(settings.mode.rawValue) mode: controlnode does not change it; set mode = \"manage\""))
        }
        if let refusal = clusterRolloutRefusal(release) { return ControlAnswer(ControlResponse(ok: false, error: refusal)) }
        let selected = selected(request)
        guard !selected.isEmpty else { return ControlAnswer(unknown(request)) }
        let actors = Dictionary(selected.map { ($0.key.host, $0.actor) }) { first, _ in first }
        let hosts = settings.hosts.filter { actors[$0] != nil }
        var policy = settings.update
        if let parallel = request.maxParallel {
            guard parallel >= 1 else { return ControlAnswer(ControlResponse(ok: false, error: "--max-parallel must be at least 1")) }
            policy.maxParallel = parallel
        }
        if let canary = request.canary {
            guard canary >= 0 else { return ControlAnswer(ControlResponse(ok: false, error: "--canary must be 0 or more")) }
            policy.canary = canary
        }
        let targets: [(host: String, version: ReleaseVersion)]
        var skipped: [String] = []
        if request.command == "deploy" {
            guard let text = request.version, let version = ReleaseVersion(text) else {
                return ControlAnswer(ControlResponse(ok: false, error: "deploy needs a version such as 0.2.0"))
            }
            if let problem = notInRegistry(release, version) { return ControlAnswer(ControlResponse(ok: false, error: problem)) }
            targets = hosts.map { ($0, version) }
        } else {
            var found: [(host: String, version: ReleaseVersion)] = []
            for host in hosts {
                if let previous = await previousVersion(release, host, actors[host]!) {
                    found.append((host, previous))
                } else {
                    skipped.append(host)
                }
            }
            guard !found.isEmpty else {
                return ControlAnswer(ControlResponse(
                    ok: false,
                    error: "release \(release): the history holds no earlier version for \(skipped.joined(separator: ", ")) "
                        + "to roll back to; deploy the version you want with controlnode deploy \(release) VERSION"))
            }
            targets = found
        }
        var rollout = RolloutRequest(
            release: release, kind: request.command == "deploy" ? .deploy : .rollback, targets: targets, actors: actors,
            policy: policy, requester: requester)
        rollout.force = request.force ?? false
        let id: Int64
        do {
            id = try await engine.begin(rollout)
        } catch {
            return ControlAnswer(ControlResponse(ok: false, error: "\(error)", rollout: error.rollout))
        }
        let note = skipped.isEmpty ? "" : " (no earlier version in the history for \(skipped.joined(separator: ", ")))"
        if request.detach == true {
            return ControlAnswer(ControlResponse(ok: true, message: "rollout #\(id) of \(release) started\(note)", rollout: id))
        }
        let start = ControlResponse(ok: true, message: "rollout #\(id) of \(release)\(note)", rollout: id)
        if let updates = await engine.follow(release: release) { return ControlAnswer(start, following: updates) }
        // Over already (every host was on the version): the store has how it ended.
        let record = try? await store.operation(id)
        return ControlAnswer(ControlResponse.ended(id, record?.result ?? .succeeded, error: record?.error))
    }

    /// Why `version` of `release` cannot be deployed from the registry, or nil when it can.
    private func notInRegistry(_ release: String, _ version: ReleaseVersion) -> String? {
        guard let registry else {
            return "the registry \(config.daemon.registry) cannot be opened; check the daemon's log"
        }
        do {
            _ = try registry.verifiedFetch(release, version)
            return nil
        } catch {
            return "\(error); add the tarball with controlnode registry add \(release)-\(version).tar.gz"
        }
    }

    /// The version that ran on `host` before the one it should run now: the starting point of the newest
    /// successful step to that version, by history (so a downgrade is rolled back to the version above it).
    private func previousVersion(_ release: String, _ host: String, _ actor: ReleaseActor) async -> ReleaseVersion? {
        let current: ReleaseVersion?
        if let desired = await actor.desired { current = desired } else { current = await actor.runningVersion }
        guard let current, let updates = try? await store.updates(release: release, host: host) else { return nil }
        return updates.first { $0.to == current && $0.from != nil && $0.from != current }?.from
    }

    /// `rollout status`: the rollouts in progress, or else the release's last one.
    func rolloutStatus(_ request: ControlRequest) async -> ControlResponse {
        let active = await engine.status(release: request.release)
        if !active.isEmpty { return ControlResponse(ok: true, rollouts: active.map(RolloutRow.init)) }
        do {
            let last = try await store.history(release: request.release, limit: 50).first { $0.kind.isRollout }
            return ControlResponse(ok: true, rollouts: last.map { [RolloutRow(stored: $0)] } ?? [])
        } catch {
            return ControlResponse(ok: false, error: "\(error)")
        }
    }

    /// `rollout promote` and `rollout abort`.
    func steer(_ request: ControlRequest) async -> ControlResponse {
        guard let release = request.release else { return ControlResponse(ok: false, error: "name a release") }
        do {
            if request.command == "rollout-promote" {
                let id = try await engine.promote(release: release)
                return ControlResponse(ok: true, message: "rollout #\(id) of \(release) promoted: the other hosts follow", rollout: id)
            }
            let id = try await engine.abort(release: release)
            return ControlResponse(
                ok: true, message: "rollout #\(id) of \(release) aborted: the changed hosts go back to their previous version",
                rollout: id)
        } catch {
            return ControlResponse(ok: false, error: "\(error)")
        }
    }

    /// Configuration versions become rollouts: of every host when the release's `version` differs from the one
    /// last rolled out, else of the hosts that have no desired version yet (new to the configuration).
    func rollOutConfig(_ releases: [String]) async {
        let requests: [String: ReleaseVersion]
        let desired: [ReleaseHost: DesiredVersion]
        do {
            requests = try await store.configRequests()
            desired = try await store.desiredVersions()
        } catch {
            logger.error("cannot read the state store: \(error)", metadata: ["event": "store_failed"])
            return
        }
        for release in releases {
            guard let settings = config.releases[release], settings.mode == .manage,
                let version = settings.version.flatMap({ ReleaseVersion($0) })
            else { continue }
            let changed = requests[release] != version
            let hosts = settings.hosts.filter { host in
                let key = ReleaseHost(release: release, host: host)
                return supervising[key] != nil && (changed || desired[key] == nil)
            }
            guard !hosts.isEmpty else { continue }
            var rollout = RolloutRequest(
                release: release, kind: .config, targets: hosts.map { ($0, version) },
                actors: Dictionary(hosts.compactMap { host in
                    supervising[ReleaseHost(release: release, host: host)].map { (host, $0.actor) }
                }) { first, _ in first },
                policy: settings.update, requester: .configuration)
            rollout.configRequest = version
            do {
                _ = try await engine.begin(rollout)
            } catch {
                logger.error(
                    "the configuration's version \(version) of \(release) is not rolled out: \(error)",
                    metadata: ["event": "config_rollout_refused", "release": "\(release)", "version": "\(version)"])
            }
        }
    }

    /// Why a reload must be refused before anything of it is applied: a changed `version` that is quarantined,
    /// or whose release is in the middle of a rollout. Nil when it may go ahead.
    func refusal(of diff: ConfigDiff, _ next: ControlNodeConfig) async -> String? {
        for release in diff.versionChanged {
            guard let version = next.releases[release]?.version.flatMap({ ReleaseVersion($0) }) else { continue }
            if let rollout = await engine.activeRollout(of: release) {
                return "\(configPath): releases.\(release).version: rollout #\(rollout) of \(release) is in progress; "
                    + "reload once it has ended (controlnode rollout status \(release))"
            }
            let quarantined: [QuarantinedVersion]
            do {
                quarantined = try await store.quarantined(release: release)
            } catch {
                // Unknown is not "none": a quarantined version must not slip through a failing store.
                return "\(configPath): releases.\(release).version: cannot check the quarantine (\(error)); reload again once the store answers"
            }
            if let entry = quarantined.first(where: { $0.version == version }) {
                return "\(configPath): releases.\(release).version: version \(version) is quarantined: it failed rollout "
                    + "#\(entry.operation.map(String.init) ?? "?") (\(entry.reason)); name another version, or try it "
                    + "again with controlnode deploy \(release) \(version) --force"
            }
        }
        return nil
    }

    /// After READY: rollouts the store says were in flight are taken up again; an operator's start, stop or
    /// restart cut short by the daemon's end is recorded as failed (it is not repeated behind the operator's back).
    func resumeRollouts() async {
        let records: [OperationRecord]
        do {
            records = try await store.unfinished()
        } catch {
            logger.error("cannot read the state store: \(error)", metadata: ["event": "store_failed"])
            return
        }
        for record in records {
            guard record.kind.isRollout, config.releases[record.release] != nil else {
                let why = record.kind.isRollout
                    ? "the release is no longer in the configuration" : "the daemon stopped before it ended"
                await recording(record.id) { () throws(StoreError) in
                    try await store.update(operation: record.id, result: .failed, error: why, phase: nil)
                }
                continue
            }
            let actors = Dictionary(record.hosts.compactMap { step in
                supervising[ReleaseHost(release: record.release, host: step.host)].map { (step.host, $0.actor) }
            }) { first, _ in first }
            await engine.resume(record, actors: actors)
        }
    }
}
