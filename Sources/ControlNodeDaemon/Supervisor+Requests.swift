import Logging
import ReleaseSupervisor

extension Supervisor {
    /// Answers one control-socket request from `requester`.
    func answer(_ request: ControlRequest, from requester: Requester) async -> ControlAnswer {
        switch request.command {
        case "tunnel": return await openTunnel(request)
        case "deploy", "rollback": return await rollout(request, from: requester)
        case "rollout-status": return ControlAnswer(await rolloutStatus(request))
        case "rollout-promote", "rollout-abort": return ControlAnswer(await steer(request))
        case "history": return ControlAnswer(await history(request))
        case "events": return await events(request)
        case "logs": return logs(request)
        case "eval": return ControlAnswer(await evaluate(request))
        case "remote": return await openShell(request)
        case "remote-resize": return ControlAnswer(resizeShell(request))
        case "cluster-status": return ControlAnswer(clusterStatus())
        default: return ControlAnswer(await handle(request, from: requester))
        }
    }

    /// The pairs a request names: of its release (all when none), on its host (all when none), in order.
    func selected(_ request: ControlRequest) -> [(key: ReleaseHost, actor: ReleaseActor)] {
        let hosts = request.hosts ?? request.host.map { [$0] }
        return supervising.filter { key, _ in
            (request.release == nil || key.release == request.release) && (hosts == nil || hosts!.contains(key.host))
        }.sorted { $0.key < $1.key }.map { ($0.key, $0.value.actor) }
    }

    /// `no release X (on host H) in FILE`.
    func unknown(_ request: ControlRequest) -> ControlResponse {
        if let elsewhere = supervisedElsewhere(request) { return ControlResponse(ok: false, error: elsewhere) }
        let hosts = request.hosts ?? request.host.map { [$0] } ?? []
        let place = hosts.isEmpty ? "" : " on host \(hosts.joined(separator: ", "))"
        return ControlResponse(ok: false, error: "no release \(request.release ?? "?")\(place) in \(configPath)")
    }

    /// Status, reload, start, stop and restart.
    private func handle(_ request: ControlRequest, from requester: Requester) async -> ControlResponse {
        if request.command == "reload" {
            if let rejection = await reload() {
                return ControlResponse(
                    ok: false, error: "\(rejection); the running configuration stays in force, fix the file and reload again")
            }
            return ControlResponse(ok: true, message: "reloaded \(configPath)")
        }
        let selected = selected(request)
        if request.command == "status" {
            let desired = (try? await store.desiredVersions()) ?? [:]
            var rows: [StatusRow] = []
            for (key, actor) in selected {
                let version = await actor.desired
                let setBy = desired[key].flatMap { $0.version == version ? $0.setBy : nil } ?? "config"
                rows.append(StatusRow(
                    await actor.currentState, mode: actor.release.controlMode, desired: version, desiredBy: setBy))
            }
            return ControlResponse(ok: true, status: rows)
        }
        guard let release = request.release else { return ControlResponse(ok: false, error: "name a release") }
        guard ["start", "stop", "restart"].contains(request.command), let kind = OperationKind(rawValue: request.command)
        else {
            return ControlResponse(ok: false, error: "unknown command \(request.command)")
        }
        guard !selected.isEmpty else { return unknown(request) }
        if let rollout = await engine.activeRollout(of: release) {
            return ControlResponse(
                ok: false,
                error: "busy: rollout #\(rollout) of \(release) is in progress; wait for it (controlnode rollout status \(release)) or abort it",
                rollout: rollout)
        }
        let steps = selected.enumerated().map { HostStep(host: $1.key.host, position: $0, from: nil, to: nil) }
        var record = OperationRecord(release: release, kind: kind, version: nil, requester: requester, hosts: steps)
        do {
            record.id = try await store.begin(record, configRequest: nil)
        } catch {
            return ControlResponse(ok: false, error: "\(error); nothing was done")
        }
        var failures: [String] = []
        for (position, (key, actor)) in selected.enumerated() {
            var step = steps[position]
            do {
                switch kind {
                case .start: try await actor.start()
                case .stop: try await actor.stop()
                default: try await actor.restart()
                }
                step.outcome = .updated
            } catch {
                step.outcome = .failed
                step.error = "\(error)"
                failures.append("\(key): \(error)")
            }
            await recording(record.id) { () throws(StoreError) in
                try await store.record(step, of: record.id, release: release, desired: nil, phase: nil)
            }
        }
        let result: OperationResult = failures.isEmpty ? .succeeded : .failed
        let error = failures.isEmpty ? nil : failures.joined(separator: "; ")
        await recording(record.id) { () throws(StoreError) in
            try await store.update(operation: record.id, result: result, error: error, phase: nil)
        }
        if failures.isEmpty {
            return ControlResponse(
                ok: true, message: "\(request.command) #\(record.id): done for \(selected.map { "\($0.key)" }.joined(separator: ", "))")
        }
        return ControlResponse(ok: false, error: failures.joined(separator: "; "))
    }

    /// Runs one write of operation `id`'s record; a failure is logged (the operation itself has happened).
    func recording(_ id: Int64, _ write: () async throws(StoreError) -> Void) async {
        do {
            try await write()
        } catch {
            logger.error(
                "cannot record operation #\(id): \(error)", metadata: ["event": "store_failed", "operation": "\(id)"])
        }
    }

    /// Opens a local tunnel to a release's distribution port for an operator; it closes when the CLI goes.
    private func openTunnel(_ request: ControlRequest) async -> ControlAnswer {
        guard let release = request.release, let host = request.host,
            let entry = supervising[ReleaseHost(release: release, host: host)]
        else {
            return ControlAnswer(ControlResponse(ok: false, error: "name a supervised release and its host (--host)"))
        }
        do {
            let forward = try await entry.actor.openTunnel()
            logger.notice(
                "tunnel opened", metadata: ["event": "tunnel", "release": "\(release)", "host": "\(host)", "port": "\(forward.port)"])
            return ControlAnswer(
                ControlResponse(ok: true, message: "\(forward.port)"),
                heldUntilClosed: { forward.close() })
        } catch {
            return ControlAnswer(ControlResponse(ok: false, error: "\(error)"))
        }
    }

    /// `controlnode history`: newest first.
    private func history(_ request: ControlRequest) async -> ControlResponse {
        do {
            let records = try await store.history(release: request.release, limit: max(1, min(request.limit ?? 20, 1000)))
            return ControlResponse(ok: true, history: records.map(HistoryRow.init))
        } catch {
            return ControlResponse(ok: false, error: "\(error)")
        }
    }
}
