import Foundation
import Logging
import ReleaseSupervisor

/// A "host" for release operations: a real sshd on loopback, a private EPMD on a free port, a base path
/// in a temporary directory, a registry holding the fixture's tarballs, and a cookie file.
///
/// Releases the tests deploy are started by sshd on the test's behalf; `stop()` ends them by the pids
/// found under the fixture's own base path in /proc, then EPMD and sshd.
final class RemoteReleaseFixture: Sendable {
    let server: SSHServerFixture
    let epmd: TestProcess
    let epmdPort: UInt16
    let basePath: String
    let registry: Registry
    let cookie: String

    static func start() async throws -> RemoteReleaseFixture {
        let server = try await SSHServerFixture.start()
        return try await RemoteReleaseFixture(server: server)
    }

    private init(server: SSHServerFixture) async throws {
        self.server = server
        epmdPort = try freeLoopbackPort()
        epmd = try TestProcess(
            "/usr/bin/epmd", ["-port", String(epmdPort), "-address", "127.0.0.1"],
            logPath: server.directory.file("epmd.log"))
        let port = epmdPort
        guard await eventually(timeout: .seconds(10), { isListening(port: port) }) else {
            throw FixtureError("epmd did not listen on \(epmdPort)")
        }
        basePath = server.directory.file("opt/service_app")
        registry = try Registry(directory: server.directory.file("registry"))
        cookie = "cookie_\(UInt64.random(in: 0...UInt64.max))"
        for version in ReleaseFixture.versions {
            _ = try registry.store(try await ReleaseFixture.tarball(version))
        }
    }

    var host: HostSpec {
        HostSpec(
            name: "local", address: "127.0.0.1", sshPort: server.port, user: server.user,
            authentication: .keyFile(path: server.clientKey), knownHostsPath: server.knownHosts, epmdPort: epmdPort)
    }

    func release(
        environment: [String: String] = [:], startTimeout: Duration = .seconds(30), basePath: String? = nil
    ) -> ReleaseSpec {
        ReleaseSpec(
            name: ReleaseFixture.name, basePath: basePath ?? self.basePath, cookie: Cookie(cookie),
            startTimeout: startTimeout,
            environment: environment.merging(["ERL_EPMD_PORT": String(epmdPort)]) { new, _ in new })
    }

    func remote(_ release: ReleaseSpec? = nil) async throws -> RemoteRelease {
        let ssh = try await server.connect()
        return RemoteRelease(release: release ?? self.release(), host: host, ssh: ssh, logger: Logger(label: "test.release"))
    }

    func entry(_ version: String) throws -> RegistryEntry {
        try registry.fetch(ReleaseFixture.name, ReleaseVersion(version)!)
    }

    /// Pids of processes whose command line mentions the base path: the releases this fixture's tests started.
    func releaseProcesses() -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry in
            guard let pid = Int32(entry), pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                String(decoding: data, as: UTF8.self).contains(basePath)
            else { return nil }
            return pid
        }
    }

    func stop() {
        for pid in releaseProcesses() { kill(pid, SIGKILL) }
        epmd.stop()
        server.stop()
    }
}
