/// A remote shell made ready on the host: its environment in a private file, and the command that reads it.
public struct PreparedShell: Sendable {
    /// The private file on the host holding the shell's environment; the command removes it as it starts.
    public let environmentFile: String
    /// The command to run on a PTY.
    public let command: String
}

extension RemoteRelease {
    /// Makes a remote shell ready, as `bin/<name> remote` would start one: writes the release's environment (HOME, the
    /// configured variables; no cookie) to a private file on the host through stdin, and returns the command that
    /// sources and removes it, then runs the `.controlnode-start` copy of the release script with `remote`. That copy
    /// passes no `--cookie`: the shell's node reads `$HOME/.erlang.cookie`, so the cookie is on no command line.
    ///
    /// - Parameter releasePath: the running release's root; the version `current` points at when nil.
    /// - Throws: `ReleaseError` `.hostCommandFailed` when the file cannot be written.
    public func prepareShell(releasePath: String?) async throws(ReleaseError) -> PreparedShell {
        let base = ShellQuote.quote(release.basePath)
        let created = try await run(
            "prepare a remote shell in \(release.basePath)",
            "f=$(mktemp \(base)/.remote-env.XXXXXX) && cat > \"$f\" && printf '%s\\n' \"$f\"",
            input: try startEnvironment(cookie: false), timeout: .seconds(30))
        let file = created.trimmingWhitespace()
        guard file.hasPrefix("\(release.basePath)/.remote-env."), !file.contains("\n") else {
            throw error(.hostCommandFailed, "could not prepare a remote shell: mktemp printed \(file)")
        }
        let root = releasePath ?? "\(release.basePath)/current"
        let script = ShellQuote.quote("bin/.\(release.name).controlnode-start")
        let command = """
            f=\(ShellQuote.quote(file))
            set -a; . "$f"; rm -f "$f"; set +a
            cd \(ShellQuote.quote(root)) || exit 1
            if [ ! -f \(script) ]; then
              echo "controlnode: \(root) has no bin/.\(release.name).controlnode-start: the release was not started by \
            controlnode; restart it with controlnode restart \(release.name) first" >&2
              exit 1
            fi
            exec sh \(script) remote
            """
        return PreparedShell(environmentFile: file, command: command)
    }

    /// Runs a prepared shell on a PTY of `terminal` type and size (later sizes from `window`), relayed with the local
    /// socket `descriptor` (taken over and closed) until either ends.
    ///
    /// - Throws: `ReleaseError` `.unreachable` when the PTY could not be set up or the connection failed; the
    ///   environment file is then removed.
    public func runShell(
        _ shell: PreparedShell, terminal: String, columns: Int, rows: Int, window: TerminalWindow? = nil,
        descriptor: Int32
    ) async throws(ReleaseError) {
        let request = TerminalRequest(command: shell.command, terminal: terminal, columns: columns, rows: rows)
        do {
            try await ssh.relayTerminal(request, descriptor: descriptor, window: window)
        } catch {
            await discard(shell)
            throw self.error(.unreachable, "could not open a remote shell on a terminal of the host", error)
        }
    }

    /// Removes a prepared shell's environment file (a shell that never started).
    public func discard(_ shell: PreparedShell) async {
        _ = try? await ssh.execute("rm -f \(ShellQuote.quote(shell.environmentFile))", timeout: .seconds(15))
    }
}
