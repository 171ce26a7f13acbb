import Logging

extension RemoteRelease {
    /// Deploys `entry` from the registry: upload (checksum verified), extract beside the final directory and
    /// rename into place, start `bin/<name> daemon` with the cookie and environment on stdin, and wait until
    /// the node registers in the host's EPMD.
    ///
    /// - Parameter replace: stop a running release of the same name first; without it, a running release
    ///   is an `alreadyRunning` error and nothing is touched.
    /// - Returns: the state once registered (version, node port, release path); `initializeState` connects.
    /// - Throws: `ReleaseError`; on a start timeout its detail carries the tail of the release's own log.
    public func deploy(_ entry: RegistryEntry, replace: Bool = false, stopping running: (() async -> Void)? = nil)
        async throws(ReleaseError) -> ReleaseState
    {
        if try await registration() != nil {
            guard replace else {
                throw error(
                    .alreadyRunning,
                    "a release named \(release.name) already runs on the host; stop it first or deploy with replace")
            }
            if let running { await running() } else { try await stop() }
            try await waitUntilUnregistered(timeout: .seconds(30))
        }
        let version = entry.version
        let tarball = "\(release.basePath)/.\(release.name)-\(version).tar.gz"
        let result: ExecResult
        do {
            // One round trip: the tarball is verified and renamed, then extracted and started, in one command.
            (_, result) = try await ssh.upload(
                localPath: entry.path, to: tarball, mode: 0o600, knownSHA256: entry.sha256,
                thenRun: installScript(version: version, tarball: tarball), input: try startEnvironment(),
                timeout: .seconds(300))
        } catch {
            throw self.error(.hostCommandFailed, "could not upload \(entry.path) to \(tarball)", error)
        }
        guard result.succeeded else {
            throw self.error(
                .hostCommandFailed,
                "could not install and start version \(version) (\(result.exit)): \(result.stderrText.trimmingWhitespace())")
        }
        logger.info("release started", metadata: ["version": "\(version)", "event": "starting"])
        return try await waitUntilRegistered(version: version)
    }

    /// Extract into a temporary directory, check it, move it into place (an old copy of the same version goes
    /// aside first), point `current` at it, and start it: a failed extraction never leaves a half release under
    /// the final path.
    private func installScript(version: ReleaseVersion, tarball: String) -> String {
        let base = ShellQuote.quote(release.basePath)
        let final = ShellQuote.quote(path(of: version))
        let name = ShellQuote.quote(release.name)
        return """
            set -e
            cd \(base)
            work=$(mktemp -d .\(version).extract.XXXXXX)
            trap 'rm -rf "$work"' EXIT
            tar -xzf \(ShellQuote.quote(tarball)) -C "$work" || { echo "the tarball does not extract" >&2; exit 3; }
            [ -x "$work"/bin/\(name) ] || { echo "the tarball has no bin/\(release.name)" >&2; exit 3; }
            if [ -e \(final) ]; then old=$(mktemp -d .\(version).old.XXXXXX); mv \(final) "$old"/; rm -rf "$old"; fi
            mv "$work" \(final)
            trap - EXIT
            rm -f \(ShellQuote.quote(tarball))
            ln -sfn \(ShellQuote.quote("\(version)")) current.tmp && mv -T current.tmp current
            \(startCommand(for: version))
            """
    }

    /// Shell lines that read the environment from stdin into a private file, then start the release detached
    /// from the SSH channel; the file is removed once the release's shell has read it.
    func startCommand(for version: ReleaseVersion) -> String {
        let root = ShellQuote.quote(path(of: version))
        return """
            umask 077
            env_file=$(mktemp \(root)/.start-env.XXXXXX)
            cat > "$env_file"
            mkdir -p \(root)/tmp/log
            cd \(root)
            setsid sh -c 'set -a; . "$1"; rm -f "$1"; set +a; exec bin/\(release.name) daemon' start "$env_file" \
              < /dev/null >> tmp/log/controlnode-start.log 2>&1 &
            """
    }

    /// Waits until the release has booted: registered in the host's EPMD and `init:get_status()` reports
    /// `started` (every application up), or fails with the tail of its log when the start timeout passes.
    /// A release that registers and then dies at boot is a start failure, not a success.
    func waitUntilRegistered(version: ReleaseVersion) async throws(ReleaseError) -> ReleaseState {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: release.startTimeout)
        var lastProblem = "never registered in EPMD"
        while clock.now < deadline {
            if let info = try await registration() {
                switch await bootStatus(port: info.port, until: deadline) {
                case .started:
                    var state = ReleaseState(release: release.name, host: host.name)
                    state.status = .starting
                    state.version = version
                    state.distributionPort = info.port
                    state.releasePath = path(of: version)
                    return state
                case .failed(let problem):
                    lastProblem = problem
                }
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
        let tail = (try? await logTail(version: version)) ?? "(no log found)"
        throw error(
            .startTimedOut,
            "version \(version) did not finish booting within \(release.startTimeout) (\(lastProblem)); "
                + "the end of its log:\n\(tail)")
    }

    private enum BootStatus {
        case started
        case failed(String)
    }

    /// Connects to the registered node and polls `init:get_status()` until it says `started`.
    private func bootStatus(port: UInt16, until deadline: ContinuousClock.Instant) async -> BootStatus {
        let link: ReleaseLink
        do {
            link = try await connect(port: port, tickTimeout: .seconds(15))
        } catch {
            return .failed("registered, but refused a connection: \(error)")
        }
        let status = await pollBootStatus(link.connection, until: deadline)
        await link.close()
        return status
    }

    private func pollBootStatus(_ connection: DistributionConnection, until deadline: ContinuousClock.Instant) async
        -> BootStatus
    {
        while ContinuousClock.now < deadline {
            do {
                let status = try await connection.rpc("init", "get_status", timeout: .seconds(5))
                if status.tupleElements?.first == .atom("started") { return .started }
            } catch {
                return .failed("went down while booting")
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return .failed("still booting")
    }

    /// The last lines of the release's own logs on the host.
    public func logTail(version: ReleaseVersion, lines: Int = 30) async throws(ReleaseError) -> String {
        let log = ShellQuote.quote("\(path(of: version))/tmp/log")
        return try await run(
            "read the release's log",
            "cd \(log) 2>/dev/null && tail -q -n \(lines) $(ls -t erlang.log.* controlnode-start.log 2>/dev/null) 2>/dev/null || true")
    }

    /// Polls EPMD until the release is gone from it.
    func waitUntilUnregistered(timeout: Duration) async throws(ReleaseError) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if try await registration() == nil { return }
            try? await Task.sleep(for: .milliseconds(25))
        }
        throw error(.stopTimedOut, "the release was still registered in EPMD after \(timeout)")
    }
}
