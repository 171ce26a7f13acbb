import Logging

/// How one host's step of a rollout ended.
public enum RolloutStepResult: Sendable, Equatable {
    /// On the version and healthy for the whole window (or stopped, when nothing is to run).
    case healthy
    /// Failed; `versionAtFault` when the version itself did not come up or stay healthy, rather than the host or
    /// the network failing.
    case failed(reason: String, versionAtFault: Bool)
}

/// Where a host's step is, for the CLI's live lines.
public enum RolloutStepProgress: Sendable, Equatable {
    /// The tarball is on its way: bytes sent of the total.
    case staging(sent: Int, total: Int)
    case stopping
    case starting
    /// Healthy for `elapsed` of the `window` it must last.
    case healthy(elapsed: Duration, window: Duration)
}

extension ReleaseActor {
    /// The version running now, or nil when nothing is connected: what a rollout plans with.
    public var runningVersion: ReleaseVersion? { link != nil ? state.version : nil }

    /// The version `manage` mode keeps running.
    public var desired: ReleaseVersion? { desiredVersion }

    /// Sets the version `manage` mode keeps running (from the store at start, or a rollout's unchanged host).
    public func setDesired(_ version: ReleaseVersion?) { desiredVersion = version }

    /// Uploads and extracts `version` on the host without stopping anything; nothing when it is already there.
    public func stage(
        _ version: ReleaseVersion, progress: @escaping @Sendable (RolloutStepProgress) -> Void = { _ in }
    ) async throws(ReleaseError) {
        try await exclusively("staging \(version)") { () async throws(ReleaseError) in
            let remote = try await remote()
            if try await remote.installedVersions().contains(version) { return }
            try await remote.stage(try registryEntry(version)) { progress(.staging(sent: $0, total: $1)) }
        }
    }

    /// A rollout's step: makes `version` the desired version, stops what runs (unless it is `version` already),
    /// starts `version` (uploading it when it was not staged) and watches it for `policy.minHealthyTime`. With
    /// nil (a revert to a host that ran nothing), it only stops the release. A step that fails leaves the pair
    /// `failed`, so that nothing restarts the version until the rollout has put the host back. `staged`: the
    /// version is known to be extracted on the host (the rollout staged it), which saves asking.
    public func change(
        to version: ReleaseVersion?, policy: UpdatePolicy, staged: Bool = false,
        progress: @escaping @Sendable (RolloutStepProgress) -> Void
    ) async -> RolloutStepResult {
        let what = version.map { "a rollout to \($0)" } ?? "a rollout's revert"
        let result: RolloutStepResult
        // A version that failed leaves the pair failed: nothing restarts it until the rollout has put the host back.
        // A host that could not be reached, or a request that could not run, leaves it as the link says, so that
        // supervision goes on (an unreachable host is rechecked as before).
        let failing: (RolloutStepResult?) -> ReleaseStateMachine.Outcome? = { result in
            if case .failed(let reason, true) = result { return .failed("rollout: \(reason)") }
            return nil
        }
        do {
            result = try await exclusively(what, settling: failing) { () async throws(ReleaseError) in
                try await changeExclusively(to: version, policy: policy, staged: staged, progress: progress)
            }
        } catch {
            result = .failed(reason: error.detail + (error.underlyingError.map { ": \($0)" } ?? ""), versionAtFault: false)
        }
        if case .failed(let reason, true) = result {
            transition(.failed, to: .failed(reason: "rollout: \(reason)"), "rollout step failed: \(reason)")
            await closeLink()
        }
        return result
    }

    private func changeExclusively(
        to version: ReleaseVersion?, policy: UpdatePolicy, staged: Bool,
        progress: @escaping @Sendable (RolloutStepProgress) -> Void
    ) async throws(ReleaseError) -> RolloutStepResult {
        let started = ContinuousClock.now
        desiredVersion = version
        budget.reset()
        let remote = try await remote()
        // Already on it (the daemon restarted in the middle of this host's step): only watch it.
        if link != nil, let version, state.version == version {
            return await watch(version, policy: policy, started: started, remote: remote, progress: progress)
        }
        if let running = link {
            progress(.stopping)
            transition(.stopped, to: .stopping, "stopping for \(version.map { "version \($0)" } ?? "a revert")")
            try await remote.stop(over: running)
            await closeLink()
            try await remote.waitUntilUnregistered(timeout: .seconds(30))
        } else if try await remote.registration() != nil {
            progress(.stopping)
            try await remote.stop()
            try await remote.waitUntilUnregistered(timeout: .seconds(30))
        }
        guard let version else {
            transition(.stopped, to: .notRunning, "stopped: nothing ran here before the rollout")
            return .healthy
        }
        progress(.starting)
        state.version = version
        transition(.started, to: .starting, "starting version \(version)")
        let limit = min(release.startTimeout, policy.healthyDeadline)
        do {
            var installed = staged
            if !installed { installed = try await remote.installedVersions().contains(version) }
            if installed {
                _ = try await remote.restart(version: version, startTimeout: limit)
            } else {
                _ = try await remote.deploy(try registryEntry(version), replace: true, startTimeout: limit)
            }
        } catch where error.code == .startTimedOut {
            // The history keeps the first line; the release's own log (the rest) goes to the journal.
            logger.warning("\(error.detail)", metadata: ["event": "start_failed", "version": "\(version)"])
            let firstLine = error.detail.split(separator: "\n").first.map(String.init) ?? error.detail
            return .failed(reason: firstLine.replacingSuffix("; the end of its log:"), versionAtFault: true)
        }
        guard try await attach(remote) else {
            return .failed(reason: "version \(version) started but was gone before it could be connected", versionAtFault: true)
        }
        transition(.started, to: .running, "version \(version) running")
        return await watch(version, policy: policy, started: started, remote: remote, progress: progress)
    }

    /// Healthy without a break for the window: the node connected, `init:get_status()` started, and the health
    /// check (where one is configured) passing, checked at least once a second; still registered at the end.
    private func watch(
        _ version: ReleaseVersion, policy: UpdatePolicy, started: ContinuousClock.Instant, remote: RemoteRelease,
        progress: @escaping @Sendable (RolloutStepProgress) -> Void
    ) async -> RolloutStepResult {
        let window = policy.minHealthyTime
        let poll = max(Duration.milliseconds(100), min(.seconds(1), window / 10))
        let begin = ContinuousClock.now
        func failure(_ text: String) -> RolloutStepResult {
            let elapsed = ContinuousClock.now - begin
            return .failed(
                reason: "version \(version) \(text) after \(Self.seconds(elapsed)) of \(Self.seconds(window)) healthy",
                versionAtFault: true)
        }
        while true {
            guard let link = self.link, link.connection.downReason == nil else { return failure("went down") }
            do {
                let status = try await link.connection.rpc("init", "get_status", timeout: .seconds(5))
                guard status.tupleElements?.first == .atom("started") else {
                    return failure("was no longer started (init:get_status() said \(status))")
                }
                if let check = release.healthCheck {
                    let answer = try await link.connection.rpc(
                        check.module, check.function, check.arguments, timeout: check.timeout)
                    guard HealthCheck.isHealthy(answer) else {
                        return failure("failed its health check \(check.module):\(check.function) (\(answer))")
                    }
                }
            } catch {
                return failure("stopped answering (\(error))")
            }
            let elapsed = ContinuousClock.now - begin
            progress(.healthy(elapsed: min(elapsed, window), window: window))
            if elapsed >= window { break }
            if ContinuousClock.now - started > policy.healthyDeadline {
                return failure("was not healthy within healthy_deadline \(Self.seconds(policy.healthyDeadline))")
            }
            try? await Task.sleep(for: min(poll, window - elapsed))
            if Task.isCancelled { return failure("was being watched when the daemon stopped") }
        }
        do {
            guard try await remote.registration() != nil else { return failure("left EPMD") }
        } catch {
            return .failed(reason: "\(error)", versionAtFault: false)
        }
        return .healthy
    }

    /// Removes extracted versions beyond the newest `keep`, never one in `protected` nor the one running.
    @discardableResult
    public func prune(keep: Int, protecting protected: Set<ReleaseVersion>) async throws(ReleaseError) -> [ReleaseVersion] {
        try await exclusively("removing old versions") { () async throws(ReleaseError) in
            let remote = try await remote()
            let installed = try await remote.installedVersions()
            let kept = Set(installed.suffix(keep)).union(protected).union(state.version.map { [$0] } ?? [])
            let old = installed.filter { !kept.contains($0) }
            try await remote.remove(versions: old)
            return old
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}

extension String {
    fileprivate func replacingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
