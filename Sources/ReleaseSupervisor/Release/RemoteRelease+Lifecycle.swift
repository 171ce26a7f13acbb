extension RemoteRelease {
    /// Stops the release with `init:stop()` through RPC, over `link` when one is open, else over a
    /// connection made for the purpose. Returns once the node has accepted the request.
    public func stop(over link: ReleaseLink? = nil) async throws(ReleaseError) {
        try await confirm("stop")
        if let link {
            try await requestStop(link.connection)
            return
        }
        guard let info = try await registration() else {
            throw error(.releaseNotRunning, "not registered in EPMD on the host; nothing to stop")
        }
        let temporary = try await connect(port: info.port)
        do {
            try await requestStop(temporary.connection)
        } catch {
            await temporary.close()
            throw error
        }
        await temporary.close()
    }

    private func requestStop(_ connection: DistributionConnection) async throws(ReleaseError) {
        do {
            _ = try await connection.rpc("init", "stop", timeout: .seconds(10))
        } catch {
            // The node may go down before its reply leaves: that is a stop, not a failure.
            if connection.downReason != nil { return }
            throw self.error(.distributionFailed, "init:stop() failed", error)
        }
    }

    /// Stops the release and waits (bounded) until its node is gone from EPMD and its OS process has exited.
    ///
    /// - Parameters:
    ///   - state: the state from `initializeState`, for the OS pid.
    ///   - link: the open link, if any; closed afterwards.
    public func terminate(_ state: ReleaseState, link: ReleaseLink? = nil, timeout: Duration = .seconds(30))
        async throws(ReleaseError)
    {
        try await stop(over: link)
        try await waitUntilUnregistered(timeout: timeout)
        if let pid = state.osPid {
            let seconds = max(1, Int(timeout.components.seconds))
            _ = try await run(
                "wait for OS process \(pid) to exit",
                "i=0; while kill -0 \(pid) 2>/dev/null; do i=$((i+1)); [ $i -gt \(seconds * 20) ] && exit 1; sleep 0.05; done",
                timeout: timeout + .seconds(5))
        }
        if let link { await link.close() }
    }

    /// Starts the version already extracted on the host (the one `current` points at, or `version`) without
    /// uploading anything, and waits until it registers in EPMD.
    public func restart(version: ReleaseVersion? = nil, startTimeout: Duration? = nil) async throws(ReleaseError)
        -> ReleaseState
    {
        var chosen = version
        if chosen == nil { chosen = try await currentVersion() }
        guard let chosen else {
            throw error(.versionMissing, "no version is installed under \(release.basePath); deploy one first")
        }
        let root = ShellQuote.quote(path(of: chosen))
        let script = """
            set -e
            [ -x \(root)/bin/\(ShellQuote.quote(release.name)) ] || { echo "version \(chosen) is not installed" >&2; exit 3; }
            cd \(ShellQuote.quote(release.basePath))
            ln -sfn \(ShellQuote.quote("\(chosen)")) current.tmp && mv -T current.tmp current
            \(startCommand(for: chosen))
            """
        try await confirm("start")
        _ = try await run("start version \(chosen)", script, input: try startEnvironment())
        return try await waitUntilRegistered(version: chosen, timeout: startTimeout)
    }

    /// Stops the running version (if any) and starts the previous version still installed on the host.
    public func rollback(stopping link: ReleaseLink? = nil) async throws(ReleaseError) -> ReleaseState {
        let installed = try await installedVersions()
        guard let current = try await currentVersion(), let previous = installed.last(where: { $0 < current }) else {
            throw error(.versionMissing, "no earlier version is installed under \(release.basePath) to roll back to")
        }
        if try await registration() != nil {
            try await stop(over: link)
            try await waitUntilUnregistered(timeout: .seconds(30))
        }
        if let link { await link.close() }
        return try await restart(version: previous)
    }
}

extension RemoteRelease {
    /// Removes the extracted `versions` from the host; the one `current` points at is never removed.
    public func remove(versions: [ReleaseVersion]) async throws(ReleaseError) {
        guard !versions.isEmpty else { return }
        try await confirm("removal of old versions")
        let names = versions.map { ShellQuote.quote("\($0)") }.joined(separator: " ")
        _ = try await run(
            "remove old versions from \(release.basePath)",
            "cd \(ShellQuote.quote(release.basePath)) || exit 1; keep=$(readlink current || true); "
                + "for v in \(names); do [ \"$v\" = \"$keep\" ] || rm -rf -- \"./$v\"; done")
    }
}
