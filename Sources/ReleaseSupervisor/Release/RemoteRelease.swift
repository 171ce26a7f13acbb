public import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A release on a host, reached through the host's one SSH connection: the operations of the reference
/// library's `ControlNode.Release`, each in as few round trips as it can.
///
/// On the host, version `V` lives in `<base_path>/V/`, and `<base_path>/current` points at the version last
/// started. EPMD and the node are reached through direct-tcpip channels, so neither needs to listen beyond
/// the host's loopback.
public struct RemoteRelease: Sendable {
    /// What to run.
    public let release: ReleaseSpec
    /// Where.
    public let host: HostSpec
    /// The host's SSH connection.
    public let ssh: SSHConnection
    let logger: Logger
    /// The node's name when already known (from an earlier connection), which saves asking the host for
    /// its name on every reconnect.
    public var knownNodeName: NodeName?
    /// Asked right before each action that changes the host (start, stop, upload, removal); nil lets
    /// every action through, as for a daemon that works alone.
    public var actionGate: ActionGate?

    /// Wraps the operations for `release` on `host` over `ssh`.
    public init(release: ReleaseSpec, host: HostSpec, ssh: SSHConnection, logger: Logger) {
        self.release = release
        self.host = host
        self.ssh = ssh
        var logger = logger
        logger[metadataKey: "release"] = "\(release.name)"
        logger[metadataKey: "host"] = "\(host.name)"
        self.logger = logger
    }

    /// The host's EPMD, through the SSH connection.
    public var epmd: EPMDClient {
        let (ssh, port) = (self.ssh, host.epmdPort)
        return EPMDClient(host: host.address) { try await ssh.openChannel(host: "127.0.0.1", port: port) }
    }

    /// The directory version `version` is installed in.
    public func path(of version: ReleaseVersion) -> String { "\(release.basePath)/\(version)" }

    func error(_ code: ReleaseError.Code, _ detail: String, _ underlying: (any Error & Sendable)? = nil) -> ReleaseError {
        ReleaseError(code, release: release.name, host: host.name, detail, underlyingError: underlying)
    }

    /// The release's registration in the host's EPMD, or nil when it is not running.
    public func registration() async throws(ReleaseError) -> EPMDNodeInfo? {
        do {
            return try await epmd.lookup(release.name)
        } catch {
            // Nothing listens on the EPMD port: no Erlang node runs on the host (a fresh host has no EPMD until
            // its first release starts one). Only a host that cannot be reached, or that forbids forwarding,
            // is unreachable.
            let ssh = error.underlyingError as? SSHError
            if ssh?.targetRefusedConnection == true { return nil }
            // The SSH connection itself died: the host is what cannot be reached, whatever its EPMD does.
            if let ssh, ssh.code == .connectionLost { throw self.error(.unreachable, "cannot reach the host", ssh) }
            throw self.error(.unreachable, "cannot ask EPMD on port \(host.epmdPort) of the host", error)
        }
    }

    /// Asks the action gate, when there is one, whether `action` may go ahead now.
    func confirm(_ action: String) async throws(ReleaseError) {
        guard let actionGate, let refusal = await actionGate.confirm("\(action) of \(release.name) on \(host.name)")
        else { return }
        throw error(.fenced, "did not \(action): \(refusal)")
    }

    /// Runs a shell script on the host; a non-zero exit becomes `hostCommandFailed` with its stderr.
    func run(_ what: String, _ script: String, input: [UInt8] = [], timeout: Duration = .seconds(60))
        async throws(ReleaseError) -> String
    {
        let result: ExecResult
        do {
            result = try await ssh.execute(script, input: input, timeout: timeout)
        } catch {
            throw self.error(.unreachable, "could not \(what)", error)
        }
        guard result.succeeded else {
            let stderr = result.stderrText.trimmingWhitespace()
            throw self.error(
                .hostCommandFailed, "could not \(what) (\(result.exit)): \(stderr.isEmpty ? result.stdoutText : stderr)")
        }
        return result.stdoutText
    }

    /// The versions installed on the host, oldest first.
    public func installedVersions() async throws(ReleaseError) -> [ReleaseVersion] {
        let base = ShellQuote.quote(release.basePath)
        // `exit 0`: the loop's status is its last test's, false for an empty base path or a last entry that is
        // not a release (a failed first upload leaves just the directory).
        let listing = try await run(
            "list the versions in \(release.basePath)",
            "cd \(base) 2>/dev/null || exit 0; for d in */; do [ -x \"$d\"bin/\(release.name) ] && echo \"${d%/}\"; done; exit 0")
        return listing.split(separator: "\n").compactMap { ReleaseVersion($0) }.sorted()
    }

    /// The version `current` points at on the host, if any.
    public func currentVersion() async throws(ReleaseError) -> ReleaseVersion? {
        let link = ShellQuote.quote("\(release.basePath)/current")
        let target = try await run("read \(release.basePath)/current", "readlink \(link) || true")
        return ReleaseVersion(target.trimmingWhitespace().split(separator: "/").last ?? "")
    }

    /// The environment the release starts with, one `NAME='value'` line each (quoted on bytes), for a shell to
    /// source. The cookie goes here, so that it reaches the host on stdin, never on a command line; the start
    /// script moves it into the 0400 files the node and `bin/<name> remote` read (see `startLines`).
    ///
    /// `HOME` is the base path, where the node finds `.erlang.cookie`; `RELEASE_PROG` keeps the name the
    /// release's own scripts would give.
    ///
    /// Without `cookie` (a remote shell's environment), `RELEASE_COOKIE` is left out: the node's scripts read the
    /// cookie from the files instead.
    func startEnvironment(cookie withCookie: Bool = true) throws(ReleaseError) -> [UInt8] {
        let cookie = String(decoding: release.cookie.secretBytes, as: UTF8.self)
        var variables = withCookie ? [("RELEASE_COOKIE", cookie)] : []
        variables += [("HOME", release.basePath), ("RELEASE_PROG", release.name)]
        variables += release.environment.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }
        var bytes: [UInt8] = []
        for (name, value) in variables {
            // Config refuses these already (ReleaseConfig); this keeps a spec built in code just as safe.
            guard EnvironmentName.isValid(name), !value.utf8.contains(0) else {
                throw error(
                    .hostCommandFailed,
                    "environment variable \(name) has a bad name or holds a NUL byte; fix it in the configuration")
            }
            bytes += Array("\(name)=\(ShellQuote.quote(value))\n".utf8)
        }
        return bytes
    }
}
