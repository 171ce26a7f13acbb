import Foundation
import ReleaseSupervisor
import Testing

@Suite("controlnode run under a notification socket", .serialized)
struct DaemonTests {
    /// A configuration for the fixture's host and release, in manage mode with version 0.1.0 pinned; `daemon` adds
    /// lines to the `[daemon]` table.
    func writeConfig(
        _ fixture: RemoteReleaseFixture, to directory: TemporaryDirectory, version: String = "0.1.0", daemon: String = ""
    ) throws -> String {
        try directory.write("cookie", fixture.cookie + "\n", mode: 0o600)
        try directory.write("controlnode.toml", """
            [daemon]
            control_socket = "\(directory.file("control.sock"))"
            registry = "\(fixture.server.directory.file("registry"))"
            state_dir = "\(directory.path)"
            known_hosts = "\(fixture.server.knownHosts)"
            keepalive_interval = "2s"
            tick_timeout = "5s"
            \(daemon)

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
        let daemon = try ControlDaemonFixture.runDaemon(config: config, in: directory, notify: notify)
        defer { daemon.stop() }
        let collector = NotifyCollector(notify)
        defer { collector.stop() }

        let readyIndex = try #require(await collector.waitFor("READY=1", timeout: .seconds(60)), "no READY=1: \(daemon.log)")
        let readyMessage = collector.messages[readyIndex]
        #expect(readyMessage.contains("READY=1"))
        #expect(readyMessage.contains("STATUS=1 releases: 1 running"))
        // The release runs by the time READY arrives.
        let remote = try await fixture.remote()
        #expect(try await remote.registration() != nil)
        let (state, _) = try await remote.initializeState()
        let pid = try #require(state.osPid)

        // The CLI, through the control socket.
        let socket = directory.file("control.sock")
        let status = try await offload { try runCommand(controlnodeExecutable(), ["status", "--json", "--socket", socket]) }
        #expect(status.status == 0, "\(status.output)")
        let rows = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [[String: Any]]
        let row = try #require(rows?.first)
        #expect(row["release"] as? String == "service_app")
        #expect(row["host"] as? String == "local")
        #expect(row["status"] as? String == "running")
        #expect(row["version"] as? String == "0.1.0")
        #expect(row["mode"] as? String == "manage")
        #expect(row["os_pid"] as? Int == Int(pid))
        for key in ["node", "tunnel_port", "restarts", "since", "last_error"] { #expect(row.keys.contains(key), "\(key)") }
        // Health (null: no check configured) and the failures in a row; the desired version beside the running one.
        #expect(row.keys.contains("health"))
        #expect(row["health_failures"] as? Int == 0)
        #expect(row["desired_version"] as? String == "0.1.0")
        // One pair in full, one field a line; the table fits 80 columns.
        let detail = try await offload {
            try runCommand(controlnodeExecutable(), ["status", "service_app", "--host", "local", "--socket", socket])
        }
        #expect(detail.status == 0, "\(detail.output)")
        for field in ["release:", "host:", "desired version:", "health:", "connected since:", "last error:", "os pid:"] {
            #expect(detail.output.contains(field), "\(field): \(detail.output)")
        }
        #expect(detail.output.contains("\(pid)") && detail.output.contains("(up "), "\(detail.output)")
        let fitted = try await offload { try runCommand(controlnodeExecutable(), ["status", "--socket", socket]) }
        #expect(fitted.output.contains("UPTIME") && fitted.output.contains("HEALTH"), "\(fitted.output)")
        #expect(fitted.output.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(fitted.output)")
        // --watch: piped, a table a second separated by a blank line; on a terminal (a pseudo-terminal of the
        // test's) the screen is cleared each time, and Ctrl-C shows the cursor again and exits 130.
        let piped = try TestProcess(
            controlnodeExecutable(), ["status", "--watch", "--socket", socket], logPath: directory.file("watch.log"),
            name: "controlnode status --watch")
        defer { piped.stop() }
        #expect(await eventually { piped.log.components(separatedBy: "RELEASE").count >= 3 }, "\(piped.log)")
        #expect(piped.log.contains("\n\nRELEASE") && !piped.log.contains("\u{1B}["), "\(piped.log)")
        piped.signal(SIGINT)
        #expect(try await offload { try piped.exit(within: .seconds(30)) } == 130)
        let pty = try PseudoTerminal(logPath: directory.file("watch-tty.log"))
        defer { pty.close() }
        let terminal = try TestProcess(
            controlnodeExecutable(), ["status", "--watch", "--socket", socket], logPath: directory.file("watch-tty.log"),
            terminal: pty, name: "controlnode status --watch on a terminal")
        defer { terminal.stop() }
        #expect(await eventually { terminal.log.components(separatedBy: "\u{1B}[2J").count >= 3 }, "\(terminal.log)")
        #expect(terminal.log.contains("\u{1B}[?25l"), "\(terminal.log)")
        terminal.signal(SIGINT)
        #expect(try await offload { try terminal.exit(within: .seconds(30)) } == 130)
        #expect(await eventually { terminal.log.contains("\u{1B}[?25h") }, "\(terminal.log)")
        // The events so far: the actor's initialisation and connection, one line each.
        let events = try await offload {
            try runCommand(controlnodeExecutable(), ["events", "service_app", "--host", "local", "--socket", socket])
        }
        #expect(events.status == 0 && events.output.contains("  service_app  local  initialized  "), "\(events.output)")
        // Followed: a stop and a start show up as they happen.
        let follower = try TestProcess(
            controlnodeExecutable(), ["events", "--follow", "--json", "--socket", socket],
            logPath: directory.file("events.log"), name: "controlnode events --follow")
        defer { follower.stop() }
        #expect(await eventually { follower.log.contains(#""kind":"initialized""#) }, "\(follower.log)")

        // A configuration file broken since the daemon loaded it: the CLI says where, and still finds the daemon
        // on the socket the file names (it used to fall back to the default socket and claim no daemon ran).
        let good = try String(contentsOfFile: config, encoding: .utf8)
        for broken in [good + "\n[releases.service_app]\nmode = \"mange\"\n", good + "\n[hosts.\n"] {
            try broken.write(toFile: config, atomically: true, encoding: .utf8)
            let answer = try await offload { try runCommand(controlnodeExecutable(), ["status", "--config", config]) }
            #expect(answer.status == 0, "\(answer.output)")
            #expect(answer.output.contains("the configuration is invalid: \(config):"), "\(answer.output)")
            #expect(answer.output.contains("service_app") && answer.output.contains("running"), "\(answer.output)")
        }
        try good.write(toFile: config, atomically: true, encoding: .utf8)
        let table = try await offload { try runCommand(controlnodeExecutable(), ["status", "--socket", socket]) }
        #expect(table.output.contains("service_app") && table.output.contains("running"))

        // controlnode tunnel prints a local port that speaks Erlang distribution, and holds it while it runs.
        let tunnel = try TestProcess(
            controlnodeExecutable(), ["tunnel", "service_app", "--host", "local", "--socket", socket],
            logPath: directory.file("tunnel.log"), name: "controlnode tunnel")
        #expect(await eventually { UInt16(tunnel.log.trimmingCharacters(in: .whitespacesAndNewlines)) != nil })
        let tunnelPort = try #require(UInt16(tunnel.log.trimmingCharacters(in: .whitespacesAndNewlines)))
        let stream = try await TCPStream.connect(host: "127.0.0.1", port: tunnelPort)
        let node = try await DistributionConnection.withConnection(
            over: stream, to: state.nodeName!, configuration: DistributionConfiguration(cookie: Cookie(fixture.cookie))
        ) { try await $0.rpc("erlang", "node") }
        #expect(node == .atom(state.nodeName!.atom))
        tunnel.stop()
        #expect(await eventually { !isListening(port: tunnelPort) })

        let stopped = try await offload { try runCommand(controlnodeExecutable(), ["stop", "service_app", "--socket", socket]) }
        #expect(stopped.status == 0, "\(stopped.output)")
        #expect(try await remote.registration() == nil)
        let started = try await offload { try runCommand(controlnodeExecutable(), ["start", "service_app", "--socket", socket]) }
        #expect(started.status == 0, "\(started.output)")
        #expect(try await remote.registration() != nil)
        #expect(await eventually { follower.log.contains(#""kind":"stopped""#) && follower.log.contains(#""kind":"started""#) },
            "\(follower.log)")
        follower.stop()
        // And from the store, with --since (written in batches, so polled for).
        #expect(await eventually(every: .milliseconds(250)) {
            let stored = try? await offload {
                try runCommand(controlnodeExecutable(), ["events", "--since", "1h", "--json", "--socket", socket])
            }
            return stored?.output.contains(#""kind":"stopped""#) == true
        })
        let badSince = try await offload { try runCommand(controlnodeExecutable(), ["events", "--since", "2x", "--socket", socket]) }
        #expect(badSince.status != 0 && badSince.output.contains("--since 2x"), "\(badSince.output)")
        let unknown = try await offload { try runCommand(controlnodeExecutable(), ["stop", "other_app", "--socket", socket]) }
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("no release other_app"))
        // A caller who is neither root nor in the socket's group is refused.
        let stranger = try await offload {
            try runCommand("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", controlnodeExecutable(),
                "status", "--socket", socket])
        }
        #expect(stranger.status == 1)
        #expect(stranger.output.contains("permission denied"))
        let noDaemon = try await offload { try runCommand(controlnodeExecutable(), ["status", "--socket", directory.file("none.sock")]) }
        #expect(noDaemon.status == 1)
        #expect(noDaemon.output.contains("no controlnode daemon is listening"))
        let restartedState = try await remote.initializeState().state
        let newPid = try #require(restartedState.osPid)

        // The watchdog pings at half of WATCHDOG_USEC while the supervisor answers: a rate over one second.
        let before = collector.messages.filter { $0.contains("WATCHDOG=1") }.count
        try await Task.sleep(for: .seconds(1))
        let pings = collector.messages.filter { $0.contains("WATCHDOG=1") }.count - before
        #expect(pings >= 3 && pings <= 7, "\(pings) pings in 1 s")

        let mark = collector.messages.count
        kill(daemon.pid, SIGHUP)
        let reloading = try #require(await collector.waitFor("RELOADING=1", after: mark))
        #expect(collector.messages[reloading].contains("MONOTONIC_USEC="))
        #expect(await collector.waitFor("READY=1", after: reloading + 1) != nil)

        // An invalid configuration is refused by `controlnode reload`, which says where the mistake is; the
        // running configuration stays in force and the release is untouched.
        let valid = try String(contentsOfFile: config, encoding: .utf8)
        try directory.write("controlnode.toml", valid + "\nrestart_budget = 3\n")
        let rejected = try await offload { try runCommand(controlnodeExecutable(), ["reload", "--socket", socket]) }
        #expect(rejected.status == 1, "\(rejected.output)")
        #expect(rejected.output.contains("controlnode.toml") && rejected.output.contains("restart_budget"), "\(rejected.output)")
        #expect(rejected.output.contains("stays in force"), "\(rejected.output)")
        let after = try await offload { try runCommand(controlnodeExecutable(), ["status", "--json", "--socket", socket]) }
        let afterRows = try JSONSerialization.jsonObject(with: Data(after.output.utf8)) as? [[String: Any]]
        #expect(afterRows?.first?["status"] as? String == "running")
        #expect(afterRows?.first?["os_pid"] as? Int == Int(newPid))
        #expect(daemon.log.contains("configuration rejected"))
        try directory.write("controlnode.toml", valid)
        let reloaded = try await offload { try runCommand(controlnodeExecutable(), ["reload", "--socket", socket]) }
        #expect(reloaded.status == 0, "\(reloaded.output)")

        let beforeStop = collector.messages.count
        kill(daemon.pid, SIGTERM)
        #expect(await collector.waitFor("STOPPING=1", after: beforeStop) != nil)
        let exitStatus = try await offload { try daemon.exit(within: .seconds(120)) }
        #expect(exitStatus == 0, "\(daemon.log)")
        #expect(kill(newPid, 0) == 0)
        #expect(try await remote.registration() != nil)
        #expect(!daemon.log.contains(fixture.cookie))
    }
}
