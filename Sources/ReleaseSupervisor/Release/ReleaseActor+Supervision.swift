import CoreMetrics
import Logging

extension ReleaseActor {
    /// Brings the actor in line with the host: attach to the running release, or (in `manage` mode, with a
    /// desired version, and unless the machine says an operator stopped it) start or deploy it. The machine has
    /// already said that a reconcile is due (`recheck`); how it ends goes back to it.
    func reconcile(after reason: String?) async {
        do {
            let remote = try await remote()
            if try await attach(remote) {
                transition(.connected, to: .running, "connected to \(state.nodeName.map { "\($0)" } ?? "the node")")
                machine.settled(.attached)
                return
            }
            guard release.controlMode == .manage, machine.mayStart, let version = desiredVersion else {
                if state.status != .notRunning { transition(.stopped, to: .notRunning, reason ?? "not running") }
                machine.settled(.detached)
                return
            }
            try await startOrDeploy(version, remote)
            machine.settled(link != nil ? .attached : .detached)
        } catch {
            if state.status != .unreachable(reason: error.description) {
                transition(.unreachable, to: .unreachable(reason: error.description), "\(error)")
            }
            machine.settled(.detached)
        }
    }

    /// The registry's tarball of `version`, or `notInRegistry` saying what to do.
    func registryEntry(_ version: ReleaseVersion) throws(ReleaseError) -> RegistryEntry {
        guard let registry else {
            throw ReleaseError(.notInRegistry, release: release.name, host: host.name, "no registry to deploy \(version) from")
        }
        do {
            return try registry.verifiedFetch(release.name, version)
        } catch {
            throw ReleaseError(
                .notInRegistry, release: release.name, host: host.name,
                "cannot deploy \(version); add its tarball with `controlnode registry add`", underlyingError: error)
        }
    }

    /// Starts `version` when it is installed on the host, else deploys it from the registry; then attaches.
    func startOrDeploy(_ version: ReleaseVersion, _ remote: RemoteRelease) async throws(ReleaseError) {
        state.version = version
        if try await remote.installedVersions().contains(version) {
            transition(.started, to: .starting, "starting installed version \(version)")
            _ = try await remote.restart(version: version)
        } else {
            let entry = try registryEntry(version)
            transition(.started, to: .starting, "deploying version \(version)")
            _ = try await remote.deploy(entry)
            transition(.deployed, to: .starting, "deployed version \(version)")
        }
        if try await attach(remote) {
            transition(.connected, to: .running, "version \(version) running")
        }
    }

    /// The node went down (or its connection did): reconnect if it is still registered, restart it in
    /// `manage` mode if it is gone (within the budget), report otherwise. The machine is `recovering` (a request
    /// in progress, which brought the node down on purpose, handles it instead).
    func nodeWentDown(_ reason: NodeDownReason) async {
        await closeLink()
        metrics.recordNodeDown(reason.label)
        // The host's SSH connection died with it: the host is what went away, and saying so now beats waiting for
        // a new connection attempt to time out.
        if let lost = await pool.loss(for: host.sshSettings) {
            let error = ReleaseError(
                .unreachable, release: release.name, host: host.name, "cannot reach the host", underlyingError: lost)
            transition(.nodedown, to: .unreachable(reason: error.description), "node down: \(reason); \(error)")
        } else if case .tickTimeout = reason {
            // Silence says the node cannot be reached, not that it stopped: the host may be cut off.
            transition(.nodedown, to: .unreachable(reason: "node down: \(reason)"), "node down: \(reason); asking its host")
        } else {
            transition(.nodedown, to: .notRunning, "node down: \(reason)")
        }
        var attempt = 0
        while !Task.isCancelled {
            do {
                let remote = try await remote()
                if try await attach(remote) {
                    transition(.reconnected, to: .running, "reconnected; the release was left untouched")
                    machine.settled(.attached)
                    return
                }
                try await nodeIsGone(remote)
                machine.settled(link != nil ? .attached : (isGivenUp ? .failed(state.lastError ?? "failed") : .detached))
                return
            } catch {
                if state.status != .unreachable(reason: error.description) {
                    transition(.unreachable, to: .unreachable(reason: error.description), "\(error)")
                }
                attempt += 1
                try? await Task.sleep(for: Self.reconnectDelay(attempt: attempt))
            }
        }
        machine.settled(.detached)
    }

    /// Whether the restart budget was spent: the status says so until an operator acts.
    private var isGivenUp: Bool {
        if case .failed = state.status { return true }
        return false
    }

    private func nodeIsGone(_ remote: RemoteRelease) async throws(ReleaseError) {
        guard release.controlMode == .manage else {
            transition(.stopped, to: .notRunning, "the node is gone; \(release.controlMode) mode leaves it alone")
            return
        }
        let now = ContinuousClock.now
        guard budget.allowsRestart(at: now) else {
            let policy = release.restartPolicy
            transition(
                .failed, to: .failed(reason: "restart budget spent: \(policy.maxRestarts) restarts within \(policy.window)"),
                "giving up until an operator acts (controlnode start or restart)")
            return
        }
        // The first restart in the window is immediate; later ones back off.
        let delay = budget.restartsInWindow(at: now) == 0 ? .zero : budget.backoff(at: now)
        if delay > .zero { try? await Task.sleep(for: delay) }
        // A refused action (`[cluster]`: another member may own the pair) spends nothing of the budget.
        try await remote.confirm("restart")
        budget.recordRestart(at: .now)
        state.restartCount += 1
        metrics.recordRestart(restartCause ?? "node_down")
        restartCause = nil
        _ = try await remote.restart()
        guard try await attach(remote) else { return }
        transition(.restarted, to: .running, "restarted (restart \(state.restartCount))")
    }

    /// 0, 100 ms, 200 ms, … capped at 10 s, with ±20 % jitter.
    static func reconnectDelay(attempt: Int) -> Duration {
        guard attempt > 1 else { return .zero }
        let base = min(10.0, 0.1 * pow2(attempt - 2))
        return .milliseconds(Int(base * 1000 * Double.random(in: 0.8...1.2)))
    }

    private static func pow2(_ exponent: Int) -> Double { Double(1 << min(exponent, 20)) }

    /// Runs the health check at its interval while connected; rechecks an absent release every few seconds.
    /// Without a health check, a connected actor has nothing to do here: it waits until its link is closed
    /// (a node going down arrives as a signal), so that hundreds of idle actors do not wake every 2 s for nothing.
    func healthLoop() async {
        let interval = release.healthCheck?.interval ?? .seconds(2)
        var drops = linkDrops.makeAsyncIterator()
        while !Task.isCancelled {
            if release.healthCheck == nil, link != nil {
                guard await drops.next() != nil else { return }
                continue
            }
            try? await Task.sleep(for: interval)
            await tick()
        }
    }

    private func tick() async {
        guard let link else {
            signalSink.yield(.changed)  // the loop asks the machine whether a recheck is due
            return
        }
        guard machine.checksHealth, let check = release.healthCheck else { return }
        let healthy: Bool
        var problem: String?
        do {
            let result = try await link.connection.rpc(check.module, check.function, check.arguments, timeout: check.timeout)
            healthy = HealthCheck.isHealthy(result)
            if !healthy { problem = "returned \(result)" }
        } catch {
            healthy = false
            problem = "\(error)"
        }
        if !healthy { Self.healthCheckFailures.increment() }
        guard self.link === link else { return }
        // What `status` shows: the real run of failures, which the machine's count (reset at each action) is not.
        state.healthy = healthy
        state.healthFailures = healthy ? 0 : state.healthFailures + 1
        if let problem {
            state.lastError = DisplayText.sanitized("health check \(check.module):\(check.function) \(problem)")
        }
        guard machine.health(healthy, threshold: check.failuresBeforeAction) else { return }
        transition(.healthFailed, to: state.status, "health check \(check.module):\(check.function) failed \(check.failuresBeforeAction) times"
            + (problem.map { ": \(DisplayText.sanitized($0))" } ?? ""))
        if check.onFailure == .restart, release.controlMode == .manage {
            restartCause = "health_check"
            if (try? await (try? await remote())?.stop(over: link)) == nil { restartCause = nil }
        }
    }
}
