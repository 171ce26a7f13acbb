#if canImport(Glibc)
import Glibc
#endif

/// What an operator asks of a running release besides changing it: its log, an expression evaluated on its node,
/// a remote shell. None of these is serialised with the actor's requests (they change nothing the actor tracks), and
/// each uses the actor's own connections: the pool's SSH connection to the host and the distribution connection.
extension ReleaseActor {
    /// Runs one poll of the release's run_erl log on the host (see `LogFollower`).
    public func pollLog(_ poll: LogPoll) async throws(ReleaseError) -> LogPollReply {
        let remote = try await remote()
        return try await remote.pollLog(poll, in: remote.logDirectory(releasePath: state.releasePath))
    }

    /// Evaluates `expression` on the release's node over the distribution connection.
    ///
    /// - Throws: `ReleaseError` `.releaseNotRunning` when there is no connection to the node, `.distributionFailed`
    ///   when the node cannot be asked or gives no answer in time.
    public func evaluate(
        _ expression: String, language: RemoteEvaluation.Language, timeout: Duration
    ) async throws(ReleaseError) -> RemoteEvaluation.Outcome {
        let connection = try connectedNode()
        do {
            return try await RemoteEvaluation.evaluate(
                expression, language: language, timeout: timeout, over: connection)
        } catch {
            if error.code == .rpcTimedOut {
                throw ReleaseError(
                    .distributionFailed, release: release.name, host: host.name,
                    "the node did not answer the evaluation within \(timeout) and 5 s; it may be overloaded")
            }
            throw ReleaseError(
                .distributionFailed, release: release.name, host: host.name, "could not evaluate on the node",
                underlyingError: error)
        }
    }

    /// Makes a remote shell ready on the host (`RemoteRelease.prepareShell`); the release must be connected.
    public func prepareShell() async throws(ReleaseError) -> PreparedShell {
        _ = try connectedNode()
        return try await remote().prepareShell(releasePath: state.releasePath)
    }

    /// Runs a prepared shell on a PTY (its size following `window`), relayed with `descriptor` (taken over) until
    /// either end closes.
    public func runShell(
        _ shell: PreparedShell, terminal: String, columns: Int, rows: Int, window: TerminalWindow? = nil,
        descriptor: Int32
    ) async throws(ReleaseError) {
        let remote: RemoteRelease
        do {
            remote = try await self.remote()
        } catch {
            close(descriptor)
            throw error
        }
        try await remote.runShell(
            shell, terminal: terminal, columns: columns, rows: rows, window: window, descriptor: descriptor)
    }

    /// Removes a prepared shell's environment file from the host: a shell that will not run.
    public func discard(_ shell: PreparedShell) async {
        guard let remote = try? await remote() else { return }
        await remote.discard(shell)
    }

    private func connectedNode() throws(ReleaseError) -> DistributionConnection {
        guard let connection = link?.connection else {
            throw ReleaseError(
                .releaseNotRunning, release: release.name, host: host.name,
                "not connected to its node (status \(state.status)); start it, or wait until status says running")
        }
        return connection
    }
}
