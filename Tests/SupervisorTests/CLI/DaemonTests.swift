import Foundation
import ReleaseSupervisor
import Testing

@Suite("controlnode run under a notification socket", .serialized)
struct DaemonTests {
    /// A configuration for the fixture's host and release, in manage mode with version 0.1.0 pinned.
    func writeConfig(_ fixture: RemoteReleaseFixture, to directory: TemporaryDirectory, version: String = "0.1.0") throws -> String {
        try directory.write("cookie", fixture.cookie + "\n", mode: 0o600)
        try directory.write("controlnode.toml", """
            [daemon]
            registry = "\(fixture.server.directory.file("registry"))"
            known_hosts = "\(fixture.server.knownHosts)"
            keepalive_interval = "2s"
            tick_timeout = "5s"

            [hosts.local]
            address = "127.0.0.1"
            port = \(fixture.server.port)
            user = "\(fixture.server.user)"
            identity_file = "\(fixture.server.clientKey)"
            epmd_port = \(fixture.epmdPort)

            [releases.service_app]
            base_path = "\(fixture.basePath)"
            cookie_file = "\(directory.file("cookie"))"
            hosts = ["local"]
            version = "\(version)"
            mode = "manage"
            start_timeout = "30s"
            env = { ERL_EPMD_PORT = "\(fixture.epmdPort)" }
            """)
        return directory.file("controlnode.toml")
    }

    @Test("READY=1 only once the release runs; STATUS; RELOADING/READY on SIGHUP; STOPPING on SIGTERM, exit 0, release left running")
    func lifecycle() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let directory = try TemporaryDirectory(prefix: "controlnode-daemon")
        defer { directory.remove() }
        let config = try writeConfig(fixture, to: directory)
        let notify = try NotifySocket()
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = "@\(notify.name)"
        environment["JOURNAL_STREAM"] = nil
        environment["WATCHDOG_USEC"] = "400000"
        environment["WATCHDOG_PID"] = nil
        let daemon = try TestProcess(
            controlnodeExecutable(), ["run", "--config", config, "--log-target", "stderr"], environment: environment,
            logPath: directory.file("daemon.log"), name: "controlnode")
        defer { daemon.stop() }

        let ready = try await offload { () -> String? in
            while let message = notify.receive(timeout: .seconds(60)) { if message.contains("READY=1") { return message } }
            return nil
        }
        let readyMessage = try #require(ready, "no READY=1 within 60 s: \(daemon.log)")
        #expect(readyMessage.contains("READY=1"))
        #expect(readyMessage.contains("STATUS=1 releases: 1 running"))
        // The release runs by the time READY arrives.
        let remote = try await fixture.remote()
        #expect(try await remote.registration() != nil)
        let (state, _) = try await remote.initializeState()
        let pid = try #require(state.osPid)

        // The watchdog pings at half of WATCHDOG_USEC while the supervisor answers.
        let pings = try await offload { notify.collect(for: .seconds(1)) }.filter { $0.message.contains("WATCHDOG=1") }
        #expect(pings.count >= 3 && pings.count <= 7, "\(pings.count) pings in 1 s")

        kill(daemon.pid, SIGHUP)
        let reloading = try await offload { () -> String? in
            while let message = notify.receive(timeout: .seconds(10)) { if message.contains("RELOADING=1") { return message } }
            return nil
        }
        #expect(reloading?.contains("RELOADING=1") == true)
        #expect(reloading?.contains("MONOTONIC_USEC=") == true)
        let readyAgain = try await offload { () -> String? in
            while let message = notify.receive(timeout: .seconds(10)) { if message.contains("READY=1") { return message } }
            return nil
        }
        #expect(readyAgain != nil)

        kill(daemon.pid, SIGTERM)
        let stopping = try await offload { () -> String? in
            while let message = notify.receive(timeout: .seconds(10)) { if message.contains("STOPPING=1") { return message } }
            return nil
        }
        #expect(stopping != nil)
        let status = try await offload { daemon.waitForExit() }
        #expect(status == 0, "\(daemon.log)")
        #expect(kill(pid, 0) == 0)
        #expect(try await remote.registration() != nil)
        #expect(!daemon.log.contains(fixture.cookie))
    }
}
