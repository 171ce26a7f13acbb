import Foundation
import ReleaseSupervisor

/// A `service_app` release tarball extracted into a temporary directory and run there with a private EPMD
/// on a free loopback port and its own cookie, as the daemon would run it on a host.
///
/// `stop()` ends the node and EPMD by pid and removes the directory; tests call it in a `defer`, and it is
/// safe to call whatever state the release reached (the node is found by its root directory in /proc).
final class LocalRelease: Sendable {
    let directory: TemporaryDirectory
    /// Where the tarball was extracted: `<root>/bin/service_app`.
    let root: String
    let version: String
    let epmdPort: UInt16
    let cookie: String
    let epmd: TestProcess
    /// The node name the release uses: `service_app@<short host name>`.
    let nodeName: NodeName

    /// Extracts `version`'s tarball (building it if needed) and starts a private EPMD.
    init(version: String) async throws {
        let tarball = try await ReleaseFixture.tarball(version)
        directory = try TemporaryDirectory(prefix: "controlnode-release")
        // The VM gets its root as the release script resolves it (`pwd -P`); /proc matching needs the same text.
        try FileManager.default.createDirectory(atPath: directory.file("release"), withIntermediateDirectories: true)
        guard let resolved = realpath(directory.file("release"), nil) else {
            throw FixtureError("cannot resolve \(directory.file("release")): errno \(errno)")
        }
        root = String(cString: resolved)
        free(resolved)
        self.version = version
        cookie = "cookie_\(UInt64.random(in: 0...UInt64.max))"
        nodeName = try NodeName(alive: ReleaseFixture.name, host: ErlangNodeFixture.shortHostName())
        let target = root
        let (status, output) = try await offload { try runCommand("/bin/tar", ["-xzf", tarball, "-C", target]) }
        guard status == 0 else { throw FixtureError("tar -xzf \(tarball) failed: \(output)") }
        epmdPort = try freeLoopbackPort()
        epmd = try TestProcess(
            "/usr/bin/epmd", ["-port", String(epmdPort), "-address", "127.0.0.1"],
            logPath: directory.file("epmd.log"))
        let port = epmdPort
        guard await eventually(timeout: .seconds(10), { isListening(port: port) }) else {
            throw FixtureError("epmd did not listen on \(epmdPort): \(epmd.log)")
        }
    }

    /// The environment `bin/service_app` runs with: the private EPMD, the cookie, a HOME of its own.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["ERL_EPMD_PORT"] = String(epmdPort)
        environment["RELEASE_COOKIE"] = cookie
        environment["HOME"] = directory.path
        for name in [
            "RELEASE_NODE", "RELEASE_DISTRIBUTION", "RELEASE_TMP", "RELEASE_ROOT", "SERVICE_APP_CRASH_AT_BOOT",
        ] {
            environment[name] = nil
        }
        return environment.merging(extra) { _, new in new }
    }

    /// Runs `bin/service_app daemon`, which returns once the node is launched in the background.
    func startDaemon(environment extra: [String: String] = [:]) async throws {
        let executable = root + "/bin/service_app"
        let environment = environment(extra)
        let (status, output) = try await offload { try runCommand(executable, ["daemon"], environment: environment) }
        guard status == 0 else { throw FixtureError("bin/service_app daemon failed (exit \(status)): \(output)") }
    }

    var epmdClient: EPMDClient { EPMDClient.tcp(port: epmdPort) }

    /// Waits until the node is registered in the private EPMD; returns its distribution port.
    func waitUntilRegistered(timeout: Duration = .seconds(30)) async throws -> UInt16 {
        let client = epmdClient
        let alive = nodeName.alive
        var port: UInt16?
        let registered = await eventually(timeout: timeout, every: .milliseconds(10)) {
            port = try? await client.lookup(alive)?.port
            return port != nil
        }
        guard registered, let port else {
            throw FixtureError("\(nodeName) did not register in epmd within \(timeout); log:\n\(logTail())")
        }
        return port
    }

    /// A hidden-node connection to the release, over TCP to its distribution port.
    func connect() async throws -> DistributionConnection {
        let port = try await waitUntilRegistered(timeout: .seconds(5))
        let stream = try await TCPStream.connect(host: "127.0.0.1", port: port)
        let configuration = DistributionConfiguration(cookie: Cookie(cookie))
        return try await DistributionConnection.connect(over: stream, to: nodeName, configuration: configuration)
    }

    /// The last `characters` of the node's own log (`$RELEASE_TMP/log/erlang.log.*`, written by run_erl).
    func logTail(characters: Int = 4000) -> String {
        let logDirectory = root + "/tmp/log"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? [])
            .filter { $0.hasPrefix("erlang.log") }.sorted()
        let text = files.compactMap { try? String(contentsOfFile: "\(logDirectory)/\($0)", encoding: .utf8) }
            .joined(separator: "\n")
        return String(text.suffix(characters))
    }

    /// Processes started from this release (run_erl, beam.smp, erl_child_setup), found in /proc by the root
    /// directory on their command line.
    func processes() -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let marker = Data(root.utf8)
        return entries.compactMap { entry in
            guard let pid = Int32(entry), pid != getpid(),
                let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                commandLine.range(of: marker) != nil
            else { return nil }
            return pid
        }
    }

    /// SIGTERM to every process of the release (the VM stops gracefully on it), SIGKILL after `grace`.
    /// Blocking, bounded by `grace` plus a second; returns whether none is left.
    @discardableResult
    func stopNode(grace: Duration = .seconds(5)) -> Bool {
        for pid in processes() { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now.advanced(by: grace)
        while !processes().isEmpty && ContinuousClock.now < deadline { usleep(20_000) }
        for pid in processes() { kill(pid, SIGKILL) }
        let killDeadline = ContinuousClock.now.advanced(by: .seconds(1))
        while !processes().isEmpty && ContinuousClock.now < killDeadline { usleep(10_000) }
        return processes().isEmpty
    }

    /// Stops the node, then EPMD, and removes the directory.
    func stop() {
        stopNode()
        epmd.stop()
        directory.remove()
    }
}
