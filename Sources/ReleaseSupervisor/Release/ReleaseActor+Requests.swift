extension ReleaseActor {
    /// Runs `body` as the one request in progress; another request meanwhile gets `busy` at once. How it leaves the
    /// release is `settling` its result (nil, or a thrown error: connected or not, as the link says).
    func exclusively<T: Sendable>(
        _ what: String, settling: (T?) -> ReleaseStateMachine.Outcome? = { _ in nil },
        _ body: () async throws(ReleaseError) -> T
    ) async throws(ReleaseError) -> T {
        if let current = machine.begin(what) {
            throw ReleaseError(.busy, release: release.name, host: host.name, "busy with \(current); try again when it ends")
        }
        let result: Result<T, ReleaseError>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        let outcome = settling(try? result.get()) ?? (link != nil ? .attached : .detached)
        if let reason = machine.end(outcome) { signalSink.yield(.recover(reason)) }
        return try result.get()
    }

    /// Deploys `version` from the registry; with `replace`, a running release is stopped first.
    public func deploy(_ version: ReleaseVersion, replace: Bool = false) async throws(ReleaseError) {
        try await exclusively("a deploy of \(version)") { () async throws(ReleaseError) in
            let entry = try registryEntry(version)
            let remote = try await remote()
            if let running = link {
                guard replace else {
                    throw ReleaseError(
                        .alreadyRunning, release: release.name, host: host.name,
                        "already running version \(state.version.map { "\($0)" } ?? "?"); deploy with replace")
                }
                transition(.stopped, to: .stopping, "stopping for the deploy of \(version)")
                try await remote.stop(over: running)
                await closeLink()
                try await remote.waitUntilUnregistered(timeout: .seconds(30))
            }
            _ = try await remote.deploy(entry, replace: replace)
            state.version = version
            transition(.deployed, to: .starting, "deployed version \(version)")
            if try await attach(remote) { transition(.connected, to: .running, "version \(version) running") }
        }
    }

    /// Stops the release (`init:stop()`), waits until it is gone, and keeps it stopped.
    public func stop() async throws(ReleaseError) {
        // Kept stopped even when the stop fails half-way: the operator asked for it not to run.
        try await exclusively("a stop", settling: { _ in .stoppedByOperator }) { () async throws(ReleaseError) in
            let remote = try await remote()
            transition(.stopped, to: .stopping, "stopping on request")
            if let current = link {
                try await remote.stop(over: current)
                await closeLink()
            } else if try await remote.registration() != nil {
                try await remote.stop()
            }
            try await remote.waitUntilUnregistered(timeout: .seconds(30))
            transition(.stopped, to: .notRunning, "stopped on request")
        }
    }

    /// Starts the installed current version (or the desired one) and clears a `failed` state.
    public func start() async throws(ReleaseError) {
        try await exclusively("a start") { () async throws(ReleaseError) in
            let remote = try await remote()
            budget.reset()
            if try await attach(remote) {
                transition(.connected, to: .running, "already running")
                return
            }
            transition(.started, to: .starting, "starting on request")
            _ = try await remote.restart(version: nil)
            if try await attach(remote) { transition(.started, to: .running, "started on request") }
        }
    }

    /// Stops and starts the release in place (no upload).
    public func restart() async throws(ReleaseError) {
        try await stop()
        try await start()
    }

    /// Stops the running version and starts the previous one still installed on the host.
    public func rollback() async throws(ReleaseError) {
        try await exclusively("a rollback") { () async throws(ReleaseError) in
            let remote = try await remote()
            let current = link
            _ = try await remote.rollback(stopping: current)
            await closeLink()  // already closed by the rollback; this retires its generation
            if try await attach(remote) {
                transition(.rolledBack, to: .running, "rolled back to \(state.version.map { "\($0)" } ?? "?")")
            }
        }
    }

    /// A local tunnel (127.0.0.1, ephemeral port) to the release's distribution port, for an operator; the
    /// caller closes it.
    public func openTunnel() async throws(ReleaseError) -> LocalForward {
        try await remote().setupTunnel()
    }
}
