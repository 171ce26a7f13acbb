import Foundation
import ReleaseSupervisor
import Testing

/// `controlnode eval`, `logs` and `remote` against one daemon supervising a running fixture release over real sshd:
/// one start-up for all of them, since starting the release is most of the time.
@Suite("controlnode eval, logs and remote against a running release", .serialized)
struct OperatorCommandTests {
    @Test("eval: values, errors, a timeout; logs: tail, prefixes, follow across rotation; remote: a shell on a PTY")
    func operatorCommands() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let directory = try TemporaryDirectory(prefix: "controlnode-operator")
        defer { directory.remove() }
        let config = try DaemonTests().writeConfig(fixture, to: directory)
        // Small logs, so that run_erl rotates (and wraps) while `logs -f` follows.
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
            of: "env = { ERL_EPMD_PORT = \"\(fixture.epmdPort)\" }",
            with: "env = { ERL_EPMD_PORT = \"\(fixture.epmdPort)\", RUN_ERL_LOG_MAXSIZE = \"1000\", "
                + "RUN_ERL_LOG_GENERATIONS = \"3\" }")
        #expect(text.contains("RUN_ERL_LOG_MAXSIZE"))
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try await ControlDaemonFixture.start(in: directory, config: config)
        defer { daemon.stop() }
        let socket = daemon.socket
        let cli: @Sendable ([String]) async throws -> (status: Int32, output: String) = { arguments in
            try await offload { try runCommand(controlnodeExecutable(), arguments + ["--socket", socket]) }
        }

        // Requests naming what is not supervised say so, with exit 1.
        for arguments in [
            ["eval", "other_app", "1"], ["logs", "other_app"], ["remote", "service_app", "--host", "nowhere"],
        ] {
            let refused = try await cli(arguments)
            #expect(refused.status == 1, "\(arguments): \(refused.output)")
            #expect(refused.output.contains("no release other_app") || refused.output.contains("name a supervised release"),
                "\(arguments): \(refused.output)")
        }
        try await evaluations(cli, daemon: daemon)
        try await logs(cli, fixture: fixture, socket: socket, directory: directory)
        try await remoteShell(fixture: fixture, socket: socket)
    }

    private func evaluations(
        _ cli: @Sendable ([String]) async throws -> (status: Int32, output: String), daemon: ControlDaemonFixture
    ) async throws {
        for (expression, expected) in [
            ("1 + 1", "2"), (#""hello" <> " world""#, #""hello world""#), ("%{a: 1, b: [2, 3]}", "%{a: 1, b: [2, 3]}"),
        ] {
            let answer = try await cli(["eval", "service_app", expression])
            #expect(answer.status == 0, "\(expression): \(answer.output)")
            #expect(answer.output.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "\(expression)")
        }
        let erlang = try await cli(["eval", "service_app", "--host", "local", "--erlang", "lists:seq(1,3)."])
        #expect(erlang.status == 0 && erlang.output.trimmingCharacters(in: .whitespacesAndNewlines) == "[1,2,3]",
            "\(erlang.output)")
        let raised = try await cli(["eval", "service_app", #"raise "boom from eval""#])
        #expect(raised.status == 1)
        #expect(raised.output.contains("RuntimeError") && raised.output.contains("boom from eval"), "\(raised.output)")
        let elixirSyntax = try await cli(["eval", "service_app", "1 +"])
        #expect(elixirSyntax.status == 1)
        #expect(elixirSyntax.output.contains("Error"), "\(elixirSyntax.output)")
        let erlangSyntax = try await cli(["eval", "service_app", "--erlang", "lists:seq(1,."])
        #expect(erlangSyntax.status == 1)
        #expect(erlangSyntax.output.contains("syntax error"), "\(erlangSyntax.output)")
        let erlangError = try await cli(["eval", "service_app", "--erlang", "1 = 2."])
        #expect(erlangError.status == 1 && erlangError.output.contains("no match of right hand side value 2"), "\(erlangError.output)")

        let start = ContinuousClock.now
        let slow = try await cli(["eval", "service_app", "--timeout", "1", "Process.sleep(60_000)"])
        #expect(slow.status == 1)
        #expect(slow.output.contains("did not finish within 1 s"), "\(slow.output)")
        #expect(start.duration(to: .now) < .seconds(10))
        // The node is fine afterwards, and the evaluation was logged with the caller's uid.
        let after = try await cli(["eval", "service_app", "node() |> to_string() |> String.starts_with?(\"service_app@\")"])
        #expect(after.output.trimmingCharacters(in: .whitespacesAndNewlines) == "true", "\(after.output)")
        #expect(daemon.process.log.contains("command=eval"))
        #expect(daemon.process.log.contains("uid=\(getuid())"))
        if getuid() == 0 {
            let stranger = try await offload {
                try runCommand("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                    controlnodeExecutable(), "eval", "service_app", "1", "--socket", daemon.socket])
            }
            #expect(stranger.status == 1 && stranger.output.contains("permission denied"), "\(stranger.output)")
        }
    }

    private func logs(
        _ cli: @Sendable ([String]) async throws -> (status: Int32, output: String), fixture: RemoteReleaseFixture,
        socket: String, directory: TemporaryDirectory
    ) async throws {
        let marker = "controlnode-log-marker-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await cli(["eval", "service_app", "require Logger; Logger.warning(\"\(marker)\"); :ok"])
        var all = ""
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
            all = (try? await cli(["logs", "service_app", "-n", "200"]))?.output ?? ""
            return all.contains(marker)
        }, "\(all)")
        #expect(all.split(separator: "\n").allSatisfy { $0.hasPrefix("local: ") }, "\(all)")
        let one = try await cli(["logs", "service_app", "--host", "local", "-n", "200"])
        #expect(one.status == 0 && one.output.contains(marker) && !one.output.contains("local: "), "\(one.output)")

        // -n 1: the follower has had its first look once a line shows.
        let follower = try TestProcess(
            controlnodeExecutable(), ["logs", "service_app", "--host", "local", "-f", "-n", "1", "--socket", socket],
            logPath: directory.file("follow.log"), name: "controlnode logs -f")
        defer { follower.stop() }
        #expect(await eventually(timeout: .seconds(10)) { !follower.log.isEmpty }, "\(follower.log)")
        let followed = "controlnode-followed-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await cli(["eval", "service_app", "require Logger; Logger.warning(\"\(followed)\"); :ok"])
        #expect(await eventually(timeout: .seconds(10)) { follower.log.contains(followed) }, "\(follower.log)")

        // About 2.4 KiB of log over 6 s: run_erl (1000-byte files) moves on to the next erlang.log.N about every
        // 2.5 s, more than twice a poll's interval, and the follower shows every line, in order.
        let burst = "controlnode-burst-\(UInt32.random(in: 0...UInt32.max))"
        let logged = try await cli([
            "eval", "service_app",
            "require Logger; for i <- 1..40, do: (Logger.warning(\"\(burst)-#{i}-end\"); Process.sleep(150)); :ok",
        ])
        #expect(logged.status == 0, "\(logged.output)")
        #expect(await eventually(timeout: .seconds(15)) { follower.log.contains("\(burst)-40-end") }, "\(follower.log)")
        // After the rotations, the first look (-n) shows the last lines even when the newest file has fewer: each
        // message is two lines (a blank one first), and a file holds about 16.
        let tail = try await cli(["logs", "service_app", "--host", "local", "-n", "20"])
        #expect(numbers(tail.output, after: "\(burst)-") == Array(31...40), "\(tail.output)")
        #expect(numbers(follower.log, after: "\(burst)-") == Array(1...40), "\(follower.log)")
        let logDirectory = "\(fixture.basePath)/0.1.0/tmp/log"
        let files = try FileManager.default.contentsOfDirectory(atPath: logDirectory).filter { $0.hasPrefix("erlang.log.") }
        #expect(files.count >= 2, "run_erl did not rotate: \(files)")
        follower.stop()
    }

    private func remoteShell(fixture: RemoteReleaseFixture, socket: String) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            Issue.record("tmux is not installed (scripts/install-deps.sh installs it): the remote shell is not tested")
            return
        }
        let sampler = CommandLineSampler(needle: fixture.cookie)
        let server = "controlnode-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let tmux = TmuxSession(server: server)
        defer {
            tmux.kill()
            sampler.stop()
        }
        try tmux.start()
        tmux.type("\(controlnodeExecutable()) remote service_app --host local --socket \(socket); stty -a")
        tmux.press("Enter")
        #expect(await eventually(timeout: .seconds(30), every: .milliseconds(200)) { tmux.screen().contains("iex(") },
            "\(tmux.screen())")
        tmux.type("node()")
        tmux.press("Enter")
        #expect(await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
            let screen = tmux.screen()
            return screen.contains(":service_app@") || screen.contains(":\"service_app@")
        }, "\(tmux.screen())")
        // The window's size reaches the PTY, at the start and whenever it changes.
        tmux.type(":io.columns()")
        tmux.press("Enter")
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(200)) { tmux.screen().contains("{:ok, 200}") },
            "\(tmux.screen())")
        tmux.resize(columns: 150, rows: 50)
        #expect(await eventually(timeout: .seconds(15), every: .seconds(1)) {
            tmux.type(":io.columns()")
            tmux.press("Enter")
            try? await Task.sleep(for: .milliseconds(300))
            return tmux.screen().contains("{:ok, 150}")
        }, "\(tmux.screen())")
        // Ctrl-G, then q at the user switch prompt: ends the shell's own node, not the release.
        tmux.press("C-g")
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(100)) { tmux.screen().contains("-->") },
            "\(tmux.screen())")
        tmux.type("q")
        tmux.press("Enter")
        #expect(await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
            tmux.screen().contains("the remote shell ended") && tmux.screen().contains("icanon")
        }, "\(tmux.screen())")
        let screen = tmux.screen()
        // stty -a after the shell: the terminal is back in canonical mode with echo.
        #expect(screen.contains(" icanon") && !screen.contains("-icanon"), "\(screen)")
        #expect(screen.contains(" echo ") && !screen.contains(" -echo "), "\(screen)")
        #expect(try await fixture.remote().registration() != nil, "the release stopped with its remote shell")

        // A CLI killed by a signal puts the terminal back too, and the daemon ends the shell on the host.
        tmux.type("\(controlnodeExecutable()) remote service_app --host local --socket \(socket); stty -a")
        tmux.press("Enter")
        #expect(await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            tmux.screen().components(separatedBy: "Interactive Elixir").count == 3
        }, "\(tmux.screen())")
        #expect(!remoteShellNodes(fixture).isEmpty, "no remote shell node runs on the host")
        let client = try #require(processes { $0.contains("remote\0service_app") && $0.contains(socket) }.first)
        kill(client, SIGTERM)
        #expect(await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
            tmux.screen().components(separatedBy: "isig icanon").count == 3
        }, "\(tmux.screen())")
        #expect(!tmux.screen().contains("-icanon"), "\(tmux.screen())")
        #expect(await eventually(timeout: .seconds(15)) { remoteShellNodes(fixture).isEmpty },
            "the remote shell's node outlived its CLI: \(remoteShellNodes(fixture))")
        #expect(try await fixture.remote().registration() != nil, "the release stopped with its remote shell")
        #expect(sampler.samples > 0)
        #expect(sampler.sightings.isEmpty, "the cookie was on a command line: \(sampler.sightings)")
    }
}

/// The numbers that follow `prefix` in the lines of `text`, in order.
private func numbers(_ text: String, after prefix: String) -> [Int] {
    text.split(separator: "\n").compactMap { line in
        guard let range = line.range(of: prefix) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Pids of the processes whose command line (NUL-separated) passes `matches`.
private func processes(_ matches: (String) -> Bool) -> [Int32] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
        guard let pid = Int32(entry), pid != getpid(),
            let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
            matches(String(decoding: data, as: UTF8.self))
        else { return nil }
        return pid
    }
}

/// The remote shells' nodes (`-remsh`) running from the fixture's release.
private func remoteShellNodes(_ fixture: RemoteReleaseFixture) -> [Int32] {
    processes { $0.contains("remsh") && $0.contains(fixture.basePath) }
}

/// A detached tmux session on a server of its own (`tmux -L`), killed by that socket, never by name.
struct TmuxSession: Sendable {
    let server: String

    func start() throws {
        let started = try runCommand("/usr/bin/tmux", ["-L", server, "-f", "/dev/null", "new-session", "-d", "-s", "shell",
            "-x", "200", "-y", "60", "/bin/sh"])
        guard started.status == 0 else { throw FixtureError("tmux did not start: \(started.output)") }
    }

    /// Types `text` literally.
    func type(_ text: String) { _ = try? runCommand("/usr/bin/tmux", ["-L", server, "send-keys", "-t", "shell", "-l", text]) }

    /// Presses a key by tmux's name for it (`Enter`, `C-g`).
    func press(_ key: String) { _ = try? runCommand("/usr/bin/tmux", ["-L", server, "send-keys", "-t", "shell", key]) }

    /// Resizes the session's window, as a terminal emulator's window being resized does (SIGWINCH in the pane).
    func resize(columns: Int, rows: Int) {
        _ = try? runCommand("/usr/bin/tmux", ["-L", server, "resize-window", "-t", "shell", "-x", "\(columns)", "-y", "\(rows)"])
    }

    /// The pane's text, with its scrollback.
    func screen() -> String {
        (try? runCommand("/usr/bin/tmux", ["-L", server, "capture-pane", "-p", "-J", "-t", "shell", "-S", "-500"]))?.output ?? ""
    }

    /// Ends the server, and removes its socket file, which tmux leaves behind when killed.
    func kill() {
        _ = try? runCommand("/usr/bin/tmux", ["-L", server, "kill-server"])
        let directory = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
        unlink("\(directory)/tmux-\(getuid())/\(server)")
    }
}
