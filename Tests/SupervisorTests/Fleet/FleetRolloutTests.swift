import Foundation
import Testing

/// Rollouts on 4 test hosts with real sshd and the fixture release: gated by health, one or two hosts down at a
/// time, recorded in the history, reverted and quarantined on failure, canaries, and a daemon that dies in the
/// middle.
@Suite("rollouts on a fleet of test hosts", .serialized)
struct FleetRolloutTests {
    static let update = "update = { max_parallel = 1, min_healthy_time = \"2s\", healthy_deadline = \"40s\", keep_versions = 2 }"

    /// 4 hosts running service_app 0.1.0 under a daemon, with `versions` in the registry too.
    static func fleet(versions: [String], extra: String = update, startTimeout: String = "20s") async throws
        -> (TestHosts, TestProcess, [[String: Any]])
    {
        let hosts = try TestHosts(count: 4)
        try await hosts.storeReleases(["service_app"])
        try await hosts.storeVersions(versions)
        try hosts.writeConfig(releases: ["service_app"], startTimeout: startTimeout, extra: ["service_app": extra])
        let daemon = try hosts.startDaemon()
        let rows = try await hosts.allRunning(4, daemon)
        return (hosts, daemon, rows)
    }

    @Test(
        "a good rollout one host at a time, two at a time, busy refusals, history, downgrade then rollback, retention",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(6)))
    func goodRollouts() async throws {
        let (hosts, daemon, initial) = try await Self.fleet(versions: ["0.2.0"])
        defer { hosts.tearDown() }
        defer { daemon.stop() }
        #expect(initial.allSatisfy { $0["desired_version"] as? String == "0.1.0" && $0["drift"] as? Bool == false })

        // controlnode logs over four test hosts: each host's own run_erl log, every line prefixed with its host;
        // with --host, that host's lines alone and unprefixed.
        let logs = try await hosts.cli(["logs", "service_app", "-n", "5"])
        #expect(logs.status == 0, "\(logs.output)")
        let lines = logs.output.split(separator: "\n")
        for number in 1...4 {
            #expect(lines.contains { $0.hasPrefix("host\(number): ") }, "no line of host\(number): \(logs.output)")
        }
        #expect(lines.allSatisfy { $0.range(of: #"^host[1-4]: "#, options: .regularExpression) != nil }, "\(logs.output)")
        let one = try await hosts.cli(["logs", "service_app", "--host", "host2", "-n", "5"])
        #expect(one.status == 0 && !one.output.isEmpty, "\(one.output)")
        #expect(!one.output.contains("host1: ") && !one.output.hasPrefix("host2: "), "\(one.output)")

        // max_parallel 1: never more than one host down; a second deploy and a per-host request meanwhile are busy.
        let sampler = DowntimeSampler(hosts)
        await sampler.start()
        let deploy = Task { try await hosts.cli(["deploy", "service_app", "0.2.0"]) }
        _ = try await hosts.waitFor(timeout: .seconds(30)) { rows in rows.contains { $0["status"] as? String != "running" } }
        let second = try await hosts.cli(["deploy", "service_app", "0.2.0"])
        #expect(second.status == 1 && second.output.contains("busy") && second.output.contains("rollout #"), "\(second.output)")
        let stop = try await hosts.cli(["stop", "service_app", "--host", "host4"])
        #expect(stop.status == 1 && stop.output.contains("busy"), "\(stop.output)")
        let result = try await deploy.value
        let (mostDown, samples) = await sampler.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("succeeded") && result.output.contains("host4 healthy 2/2 s"), "\(result.output)")
        #expect(result.output.components(separatedBy: "host1 healthy 1/2 s").count == 2, "one line per change: \(result.output)")
        #expect(mostDown <= 1 && samples > 20, "\(mostDown) down at once in \(samples) samples")
        var rows = try await hosts.status()
        #expect(rows.count == 4 && rows.allSatisfy { $0["version"] as? String == "0.2.0" && $0["status"] as? String == "running" }, "\(rows)")
        #expect(rows.allSatisfy { ($0["desired_by"] as? String)?.hasPrefix("deploy #") == true }, "\(rows)")
        #expect(rows.allSatisfy { ($0["desired_by"] as? String)?.contains("uid 0 (root)") == true }, "\(rows)")
        let history = try await hosts.json(["history", "service_app"])
        let record = try #require(history.first { $0["kind"] as? String == "deploy" && $0["result"] as? String == "succeeded" })
        let outcomes = (record["hosts"] as? [[String: Any]] ?? []).map { $0["outcome"] as? String }
        #expect(outcomes == ["updated", "updated", "updated", "updated"], "\(record)")
        #expect(record["uid"] as? Int == 0 && record["version"] as? String == "0.2.0", "\(record)")
        #expect(history.contains { $0["kind"] as? String == "stop" } == false, "a refused request is not recorded")

        // A downgrade two at a time; then rollback returns to the version that ran before (0.2.0), not the highest
        // installed version below the current one. Old versions beyond keep_versions = 2 go, never the running or
        // the previous one.
        let downgrade = DowntimeSampler(hosts)
        await downgrade.start()
        let down = try await hosts.cli(["deploy", "service_app", "0.1.0", "--max-parallel", "2"])
        let downSampled = await downgrade.stop()
        #expect(down.status == 0, "\(down.output)")
        #expect(downSampled.mostDown <= 2, "\(downSampled.mostDown) down at once")
        for number in 1...4 {
            _ = try hosts.onHost(number, "mkdir -p '\(hosts.directory.file("opt/service_app"))/0.0.1/bin' && cp /bin/true '\(hosts.directory.file("opt/service_app"))/0.0.1/bin/service_app'")
        }
        let pidsBefore = hosts.pids(try await hosts.status())
        let rollback = try await hosts.cli(["rollback", "service_app"])
        #expect(rollback.status == 0, "\(rollback.output)")
        rows = try await hosts.status()
        #expect(rows.allSatisfy { $0["version"] as? String == "0.2.0" }, "\(rows)")
        #expect(hosts.pids(rows).allSatisfy { pidsBefore[$0.key] != $0.value }, "every host restarted on 0.2.0")
        let last = try #require(try await hosts.json(["history", "service_app", "--limit", "1"]).first)
        #expect(last["kind"] as? String == "rollback" && last["result"] as? String == "succeeded", "\(last)")
        for number in 1...4 {
            let installed = try hosts.onHost(number, "ls '\(hosts.directory.file("opt/service_app"))'")
            let names = Set(installed.split(whereSeparator: \.isWhitespace).map(String.init))
            #expect(names.isSuperset(of: ["0.1.0", "0.2.0"]) && !names.contains("0.0.1"), "host\(number): \(names)")
        }
        #expect(daemon.isRunning)
    }

    @Test(
        "a version that crashes at boot and one that fails its health check: the first host fails and is reverted, the others never stop, the version is quarantined",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(6)))
    func failingVersions() async throws {
        let check = "health_check = { module = \"Elixir.ServiceApp.Health\", function = \"check\", interval = \"2s\", timeout = \"1s\" }"
        let (hosts, daemon, initial) = try await Self.fleet(
            versions: ["0.3.0", "0.4.0"], extra: Self.update + "\n" + check, startTimeout: "10s")
        defer { hosts.tearDown() }
        defer { daemon.stop() }
        let pids = hosts.pids(initial)

        for (version, cause) in [("0.3.0", "exited while booting"), ("0.4.0", "health check")] {
            let deploy = try await hosts.cli(["deploy", "service_app", version])
            #expect(deploy.status == 1, "\(deploy.output)")
            let lastLine = deploy.output.split(separator: "\n").last.map(String.init) ?? ""
            #expect(lastLine.contains("reverted") && lastLine.contains("host1") && lastLine.contains(cause), "\(deploy.output)")
            let rows = try await hosts.allRunning(4, daemon, timeout: .seconds(30))
            #expect(rows.allSatisfy { $0["version"] as? String == "0.1.0" && $0["desired_version"] as? String == "0.1.0" }, "\(rows)")
            let now = hosts.pids(rows)
            #expect(now["host1"] != pids["host1"], "host1 was changed and put back")
            for host in ["host2", "host3", "host4"] { #expect(now[host] == pids[host], "\(host) was never stopped") }
            let record = try #require(try await hosts.json(["history", "service_app", "--limit", "1"]).first)
            let outcomes = (record["hosts"] as? [[String: Any]] ?? []).map { $0["outcome"] as? String }
            #expect(record["result"] as? String == "reverted", "\(record)")
            #expect(outcomes == ["reverted", "skipped", "skipped", "skipped"], "\(record)")
        }

        // Quarantined: a deploy is refused without --force, and so is a reload naming the version.
        let again = try await hosts.cli(["deploy", "service_app", "0.3.0"])
        #expect(again.status == 1 && again.output.contains("quarantined") && again.output.contains("--force"), "\(again.output)")
        try hosts.writeConfig(
            releases: ["service_app"], startTimeout: "10s", version: "0.3.0", extra: ["service_app": Self.update + "\n" + check])
        let reload = try await hosts.cli(["reload"])
        #expect(reload.status == 1 && reload.output.contains("quarantined") && reload.output.contains("releases.service_app.version"), "\(reload.output)")
        #expect(reload.output.contains("stays in force"), "\(reload.output)")
        let rows = try await hosts.status()
        #expect(hosts.pids(rows).filter { $0.key != "host1" } == pids.filter { $0.key != "host1" })
        #expect(daemon.isRunning)
    }

    @Test(
        "canary 1: the rollout waits for promotion and promote finishes it; abort reverts the canary",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(6)))
    func canaries() async throws {
        let (hosts, daemon, initial) = try await Self.fleet(versions: ["0.2.0"])
        defer { hosts.tearDown() }
        defer { daemon.stop() }
        var pids = hosts.pids(initial)

        for (version, step, result) in [("0.2.0", "promote", "succeeded"), ("0.1.0", "abort", "aborted")] {
            let before = (try await hosts.status()).first { $0["host"] as? String == "host1" }?["version"] as? String
            if step == "promote" {
                // Ctrl-C on a CLI that follows the rollout detaches: it says so, and the rollout goes on.
                let follower = try TestProcess(
                    controlnodeExecutable(), ["deploy", "service_app", version, "--canary", "1", "--socket", hosts.controlSocket],
                    logPath: hosts.directory.file("follow.log"), name: "controlnode deploy")
                #expect(await eventually(timeout: .seconds(30)) { follower.log.contains("host1") })
                follower.signal(SIGINT)
                let exit = try await offload { try follower.exit(within: .seconds(60)) }
                #expect(exit == 130 && follower.log.contains("detached from rollout #") && follower.log.contains("goes on"), "\(follower.log)")
            } else {
                let started = try await hosts.cli(["deploy", "service_app", version, "--canary", "1", "--detach"])
                #expect(started.status == 0 && started.output.contains("rollout #"), "\(started.output)")
            }
            var rollout: [String: Any]?
            let waiting = await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
                rollout = try? await hosts.lastRollout()
                return rollout?["phase"] as? String == "awaiting_promotion"
            }
            #expect(waiting, "\(String(describing: rollout))")
            #expect(rolloutHosts(rollout)["host1"]?["outcome"] as? String == "updated")
            var rows = try await hosts.status()
            #expect(fleetRow(rows, host: 1)?["version"] as? String == version)
            for number in 2...4 {
                #expect(hosts.pids(rows)["host\(number)"] == pids["host\(number)"], "host\(number) waits for promotion")
            }
            #expect(daemon.log.contains("event=rollout_awaiting_promotion"))

            let steer = try await hosts.cli(["rollout", step, "service_app"])
            #expect(steer.status == 0, "\(steer.output)")
            let ended = await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
                rollout = try? await hosts.lastRollout()
                return rollout?["active"] as? Bool == false
            }
            #expect(ended, "\(String(describing: rollout))")
            #expect((rollout?["record"] as? [String: Any])?["result"] as? String == result, "\(String(describing: rollout))")
            rows = try await hosts.allRunning(4, daemon)
            if step == "promote" {
                #expect(rows.allSatisfy { $0["version"] as? String == version }, "\(rows)")
                pids = hosts.pids(rows)
            } else {
                #expect(fleetRow(rows, host: 1)?["version"] as? String == before, "the canary is back on \(before ?? "?")")
                #expect(rolloutHosts(rollout)["host1"]?["outcome"] as? String == "reverted")
                for number in 2...4 { #expect(hosts.pids(rows)["host\(number)"] == pids["host\(number)"]) }
            }
        }
        let promoteNothing = try await hosts.cli(["rollout", "promote", "service_app"])
        #expect(promoteNothing.status == 1 && promoteNothing.output.contains("no rollout is in progress"), "\(promoteNothing.output)")
    }

    @Test(
        "the daemon dies in the middle of rollouts: a restart resumes them, a finished host keeps its pid, the store stays whole; a CLI deploy survives a reboot; a config version change is a rollout",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(8)))
    func daemonDeaths() async throws {
        let (hosts, first, _) = try await Self.fleet(versions: ["0.2.0"])
        defer { hosts.tearDown() }
        var daemon = first
        defer { daemon.stop() }
        var logs = 1
        func restart(_ signal: Int32 = SIGKILL) async throws {
            let current = daemon
            current.signal(signal)
            _ = try await offload { try current.exit(within: .seconds(120)) }
            logs += 1
            daemon = try hosts.startDaemon(log: "daemon-\(logs).log")
        }

        // kill -9 once the first host is done: the restarted daemon resumes, and host1 is not touched again.
        _ = try await hosts.cli(["deploy", "service_app", "0.2.0", "--detach"])
        var rollout: [String: Any]?
        let hostDone = await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            rollout = try? await hosts.lastRollout()
            return rolloutHosts(rollout)["host1"]?["outcome"] as? String == "updated"
        }
        #expect(hostDone, "\(String(describing: rollout))")
        let updatedPid = try #require(fleetRow(try await hosts.status(), host: 1)?["os_pid"] as? Int)
        try await restart()
        let resumed = await eventually(timeout: .seconds(90), every: .milliseconds(250)) {
            rollout = try? await hosts.lastRollout()
            return (rollout?["record"] as? [String: Any])?["result"] as? String == "succeeded"
        }
        #expect(resumed, "\(String(describing: rollout))\n\(daemon.log.suffix(3000))")
        var rows = try await hosts.allRunning(4, daemon)
        #expect(rows.allSatisfy { $0["version"] as? String == "0.2.0" }, "\(rows)")
        #expect(fleetRow(rows, host: 1)?["os_pid"] as? Int == updatedPid, "host1 was not touched again")
        #expect(daemon.log.contains("event=rollout_resumed"))

        // Killed again and again in the middle of a rollout: the database stays whole and the rollout ends.
        _ = try await hosts.cli(["deploy", "service_app", "0.1.0", "--detach"])
        for round in 0..<6 {
            try await Task.sleep(for: .milliseconds(300 + 400 * (round % 3)))
            try await restart()
            _ = try await hosts.waitFor(timeout: .seconds(30)) { !$0.isEmpty }
        }
        let finished = await eventually(timeout: .seconds(120), every: .milliseconds(250)) {
            rollout = try? await hosts.lastRollout()
            return rollout?["active"] as? Bool == false
        }
        #expect(finished, "\(String(describing: rollout))")
        #expect((rollout?["record"] as? [String: Any])?["result"] as? String == "succeeded", "\(String(describing: rollout))\n\(daemon.log.suffix(6000))")
        let integrity = try runCommand("/usr/bin/sqlite3", [hosts.directory.file("state/state.db"), "PRAGMA integrity_check;"])
        #expect(integrity.output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(integrity.output)")
        rows = try await hosts.allRunning(4, daemon)
        #expect(rows.allSatisfy { $0["version"] as? String == "0.1.0" }, "\(rows)")

        // SIGTERM in the middle: the step in flight finishes and the rollout is recorded interrupted, then resumed.
        _ = try await hosts.cli(["deploy", "service_app", "0.2.0", "--detach"])
        _ = await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
            rolloutHosts(try? await hosts.lastRollout())["host1"]?["outcome"] as? String == "updating"
        }
        let stopping = daemon
        stopping.signal(SIGTERM)
        #expect(try await offload { try stopping.exit(within: .seconds(120)) } == 0)
        let interrupted = try runCommand(
            "/usr/bin/sqlite3", [hosts.directory.file("state/state.db"), "SELECT result FROM history ORDER BY id DESC LIMIT 1;"])
        #expect(interrupted.output.contains("interrupted"), "\(interrupted.output)")
        logs += 1
        daemon = try hosts.startDaemon(log: "daemon-\(logs).log")
        let afterTerm = await eventually(timeout: .seconds(90), every: .milliseconds(250)) {
            rollout = try? await hosts.lastRollout()
            return rollout?["active"] as? Bool == false
        }
        #expect(afterTerm, "\(String(describing: rollout))\n\(daemon.log.suffix(8000))")
        rows = try await hosts.allRunning(4, daemon)
        #expect(rows.allSatisfy { $0["version"] as? String == "0.2.0" }, "\(rows)")

        // The config says 0.1.0, the last rollout 0.2.0: a host rebooted while the daemon is down comes back on 0.2.0.
        let stopped = daemon
        stopped.signal(SIGTERM)
        _ = try await offload { try stopped.exit(within: .seconds(120)) }
        try hosts.kill(onHost: 2, everything: true)
        try hosts.startSSHD(onHost: 2)
        logs += 1
        daemon = try hosts.startDaemon(log: "daemon-\(logs).log")
        rows = try await hosts.allRunning(4, daemon)
        #expect(fleetRow(rows, host: 2)?["version"] as? String == "0.2.0", "\(rows)")
        #expect((fleetRow(rows, host: 2)?["desired_by"] as? String)?.hasPrefix("deploy #") == true, "\(rows)")

        // A changed version in the config, on reload, is a rollout one host at a time, not every host at once.
        let back = try await hosts.cli(["deploy", "service_app", "0.1.0", "--max-parallel", "4"])
        #expect(back.status == 0, "\(back.output)")
        let sampler = DowntimeSampler(hosts)
        await sampler.start()
        try hosts.writeConfig(releases: ["service_app"], startTimeout: "20s", version: "0.2.0", extra: ["service_app": Self.update])
        let reload = try await hosts.cli(["reload"])
        #expect(reload.status == 0, "\(reload.output)")
        let configured = await eventually(timeout: .seconds(90), every: .milliseconds(250)) {
            let last = try? await hosts.lastRollout()
            let record = last?["record"] as? [String: Any]
            return record?["kind"] as? String == "config" && last?["active"] as? Bool == false
        }
        let (mostDown, _) = await sampler.stop()
        #expect(configured, "\(daemon.log.suffix(6000))")
        #expect(mostDown <= 1, "\(mostDown) hosts down at once")
        rows = try await hosts.allRunning(4, daemon)
        #expect(rows.allSatisfy { $0["version"] as? String == "0.2.0" && $0["desired_by"] as? String == "config" }, "\(rows)")
    }
}
