import Logging

extension RemoteRelease {
    /// Deploys `entry` from the registry: upload (checksum verified), extract beside the final directory and
    /// rename into place, start `bin/<name> daemon` with the cookie and environment on stdin, and wait until
    /// the node registers in the host's EPMD.
    ///
    /// - Parameters:
    ///   - replace: stop a running release of the same name first; without it, a running release
    ///     is an `alreadyRunning` error and nothing is touched.
    ///   - startTimeout: how long the start may take; the release's `start_timeout` when nil.
    /// - Returns: the state once registered (version, node port, release path); `initializeState` connects.
    /// - Throws: `ReleaseError`; on a start timeout its detail carries the tail of the release's own log.
    public func deploy(
        _ entry: RegistryEntry, replace: Bool = false, stopping running: (() async -> Void)? = nil,
        startTimeout: Duration? = nil
    ) async throws(ReleaseError) -> ReleaseState
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
        try await send(entry, start: true)
        logger.info("release started", metadata: ["version": "\(entry.version)", "event": "starting"])
        return try await waitUntilRegistered(version: entry.version, timeout: startTimeout)
    }

    /// Uploads and extracts `entry` into its version's directory, leaving `current` and any running release
    /// alone: a rollout's staging, after which starting the version needs no upload. `progress` hears of the
    /// tarball's bytes sent.
    public func stage(
        _ entry: RegistryEntry, progress: (@Sendable (_ sent: Int, _ total: Int) -> Void)? = nil
    ) async throws(ReleaseError) {
        try await send(entry, start: false, progress: progress)
    }

    /// Runs the deploy script with the start environment and the tarball on its stdin.
    private func send(
        _ entry: RegistryEntry, start: Bool, progress: (@Sendable (_ sent: Int, _ total: Int) -> Void)? = nil
    ) async throws(ReleaseError) {
        let version = entry.version
        try await confirm(start ? "deploy" : "upload")
        let tarball = "\(release.basePath)/.\(release.name)-\(version).tar.gz"
        let environment = start ? try startEnvironment() : []
        let result: ExecResult
        do {
            // One command, so one login shell on the host: the environment, then the tarball, on its stdin.
            result = try await ssh.execute(
                deployScript(
                    version: version, tarball: tarball, sha256: entry.sha256, environmentSize: environment.count,
                    start: start),
                input: environment, thenFileAt: entry.path, timeout: .seconds(300), progress: progress)
        } catch {
            throw self.error(.hostCommandFailed, "could not send \(entry.path) to \(tarball)", error)
        }
        try checkDeployed(result, version: version, tarball: tarball, sha256: entry.sha256)
    }

    /// Turns the deploy command's exit status into the error that says what went wrong where.
    private func checkDeployed(_ result: ExecResult, version: ReleaseVersion, tarball: String, sha256: String)
        throws(ReleaseError)
    {
        let stderr = result.stderrText.trimmingWhitespace()
        switch result.exit {
        case .status(0):
            return
        case .status(5):
            let remote = result.stdoutText.split(separator: " ").first.map(String.init) ?? "?"
            throw error(
                .hostCommandFailed,
                "the upload to \(tarball) arrived corrupted (sha256 \(remote) on the host, \(sha256) here); "
                    + "nothing was installed, deploy again")
        case .status(3), .status(4):
            throw error(
                .hostCommandFailed,
                "could not store the tarball as \(tarball) (\(stderr)); check that \(release.basePath) is writable "
                    + "and has room; nothing was installed")
        default:
            throw error(.hostCommandFailed, "could not install and start version \(version) (\(result.exit)): \(stderr)")
        }
    }

    /// The deploy as one shell script: read the start environment (its exact size) and the tarball from stdin
    /// into private temporary files, verify the tarball's SHA-256 and rename it, extract into a temporary
    /// directory (owned by the SSH user, modes under umask 077, whatever the archive says), check it, move it into
    /// place (an old copy of the same version goes aside first), point `current` at it, and start it. A failure
    /// at any step leaves neither a tarball under its final name nor a half release under the final path; the
    /// temporary files are removed on every exit. Without `start` (staging), `current` and a running release are
    /// left alone, and a version already extracted is left as it is.
    private func deployScript(
        version: ReleaseVersion, tarball: String, sha256: String, environmentSize: Int, start: Bool
    ) -> String {
        let base = ShellQuote.quote(release.basePath)
        let final = ShellQuote.quote(path(of: version))
        let name = ShellQuote.quote(release.name)
        let verify = SSHConnection.verifyAndRenameScript(temporary: "\"$upload\"", to: tarball, expected: sha256)
        return """
            set -e
            env_file= upload= work=
            trap 'rm -rf ${env_file:+"$env_file"} ${upload:+"$upload"} ${work:+"$work"}' EXIT
            mkdir -p \(base) || exit 3
            cd \(base) || exit 3
            env_file=$(mktemp \(base)/.start-env.XXXXXX) || exit 3
            upload=$(mktemp \(base)/.\(release.name)-\(version).upload.XXXXXX) || exit 3
            # dd reads exactly the environment's bytes (the tarball follows on stdin) and reports its counts on
            # stderr: keep only its complaint, so a full disk says so (exit 3) instead of failing silently.
            if ! dd_err=$(dd bs=1 count=\(environmentSize) of="$env_file" 2>&1); then
              printf '%s\\n' "$dd_err" | grep -v records >&2; exit 3
            fi
            cat > "$upload" || exit 3
            \(verify)
            upload=
            work=$(mktemp -d .\(version).extract.XXXXXX)
            tar --no-same-owner --no-same-permissions -xzf \(ShellQuote.quote(tarball)) -C "$work" \
              || { echo "the tarball does not extract" >&2; exit 6; }
            [ -x "$work"/bin/\(name) ] || { echo "the tarball has no bin/\(release.name)" >&2; exit 6; }
            chmod 0750 "$work"
            if [ -e \(final) ]; then old=$(mktemp -d .\(version).old.XXXXXX); mv \(final) "$old"/; rm -rf "$old"; fi
            mv "$work" \(final)
            work=
            rm -f \(ShellQuote.quote(tarball))
            \(start ? """
            ln -sfn \(ShellQuote.quote("\(version)")) current.tmp && mv -T current.tmp current
            \(startLines(for: version, environmentFile: "\"$env_file\""))
            env_file=
            """ : "")
            """
    }

    /// Shell lines that read the environment from stdin into a private file, then start the release detached
    /// from the SSH channel; the file is removed on every exit path, by the release's shell once it has read
    /// it or by this script's trap.
    func startCommand(for version: ReleaseVersion) -> String {
        """
        env_file=
        trap 'rm -f ${env_file:+"$env_file"}' EXIT
        env_file=$(mktemp \(ShellQuote.quote(path(of: version)))/.start-env.XXXXXX)
        cat > "$env_file"
        \(startLines(for: version, environmentFile: "\"$env_file\""))
        env_file=
        """
    }

    /// Shell lines that start the release detached from the SSH channel, with the environment in the private
    /// file `environmentFile` (a quoted shell word), which the release's shell removes once it has read it.
    ///
    /// The cookie is on no command line at any point. Elixir's `bin/<name>` passes `--cookie "$RELEASE_COOKIE"`
    /// down to `erl -setcookie`, so the release starts through a copy of that script without it, and the node
    /// reads the cookie from `$HOME/.erlang.cookie` (HOME is the base path). The cookie also replaces the
    /// tarball's `releases/COOKIE`, so that `bin/<name> remote` and `rpc` work for a sysadmin on the host. Both
    /// files are 0400, written by shell builtins from the sourced environment.
    private func startLines(for version: ReleaseVersion, environmentFile: String) -> String {
        let root = ShellQuote.quote(path(of: version))
        let script = ShellQuote.quote("bin/\(release.name)")
        let copy = ShellQuote.quote("bin/.\(release.name).controlnode-start")
        return """
            mkdir -p \(root)/tmp/log
            cd \(root)
            sed 's/ --cookie "\\$RELEASE_COOKIE"//g' \(script) > \(copy)
            if grep -q -e --cookie -e setcookie \(copy); then
              echo "bin/\(release.name) passes the cookie on a command line in a form controlnode does not know;" \
                "build the release with Elixir's standard release scripts (mix release)" >&2
              exit 8
            fi
            ( set -a; . \(environmentFile)
              printf %s "$RELEASE_COOKIE" > "$HOME/.erlang.cookie.new" && chmod 0400 "$HOME/.erlang.cookie.new" \
                && mv -f "$HOME/.erlang.cookie.new" "$HOME/.erlang.cookie" \
                && printf %s "$RELEASE_COOKIE" > releases/COOKIE.new && chmod 0400 releases/COOKIE.new \
                && mv -f releases/COOKIE.new releases/COOKIE
            ) || { echo "cannot write the cookie files in \(release.basePath)" >&2; exit 9; }
            setsid sh -c 'set -a; . "$1"; rm -f "$1"; set +a; exec sh \(copy) daemon' start \(environmentFile) \
              < /dev/null >> tmp/log/controlnode-start.log 2>&1 &
            """
    }

    /// Waits until the release has booted: registered in the host's EPMD and `init:get_status()` reports
    /// `started` (every application up), or fails with the tail of its log when the start timeout passes.
    /// A release that registers and then dies at boot is a start failure, not a success.
    func waitUntilRegistered(version: ReleaseVersion, timeout: Duration? = nil) async throws(ReleaseError) -> ReleaseState {
        let clock = ContinuousClock()
        let limit = timeout ?? release.startTimeout
        let deadline = clock.now.advanced(by: limit)
        var lastProblem = "never registered in EPMD"
        var wentDown = false
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
                    wentDown = problem == BootStatus.wentDown
                }
            } else if wentDown {
                // Registered, went down while booting, and gone from EPMD: the VM exited (an application failed to
                // start). Waiting out the start timeout would only delay saying so.
                lastProblem = "registered, then exited while booting"
                break
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
        let tail = (try? await logTail(version: version)) ?? "(no log found)"
        let what = wentDown ? "exited while booting" : "did not finish booting within \(limit) (\(lastProblem))"
        throw error(.startTimedOut, "version \(version) \(what); the end of its log:\n\(tail)")
    }

    private enum BootStatus {
        case started
        case failed(String)

        static let wentDown = "went down while booting"
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
                return .failed(BootStatus.wentDown)
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return .failed("still booting")
    }

    /// The most of a log's tail read back: a log line can be as long as the release likes.
    static let logTailLimit = 16384

    /// The last lines of the release's own logs on the host (at most `logTailLimit` bytes).
    public func logTail(version: ReleaseVersion, lines: Int = 30) async throws(ReleaseError) -> String {
        let log = ShellQuote.quote("\(path(of: version))/tmp/log")
        return try await run(
            "read the release's log",
            "cd \(log) 2>/dev/null && tail -q -n \(lines) $(ls -t erlang.log.* controlnode-start.log 2>/dev/null) 2>/dev/null "
                + "| tail -c \(Self.logTailLimit) || true")
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
