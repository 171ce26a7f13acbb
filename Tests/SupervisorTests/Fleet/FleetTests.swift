import Foundation
import Testing

/// The daemon against several hosts, each a network namespace with its own sshd, host name, file system under
/// the base path and EPMD (`TestHosts`); the daemon runs in a namespace of its own on the same bridge.
@Suite("a fleet of test hosts in network namespaces", .serialized)
struct FleetTests {
    @Test(
        "3 hosts × 2 releases deployed from the registry: status --json shows all six running with their versions",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(5)))
    func fleet() async throws {
        let hosts = try TestHosts(count: 3)
        defer { hosts.tearDown() }
        let directory = hosts.directory
        let releases = ["service_app", "app2"]
        try await hosts.storeReleases(releases)
        try hosts.writeConfig(releases: releases)

        let daemon = try hosts.startDaemon()
        defer { daemon.stop() }

        var rows = try await hosts.allRunning(6, daemon)
        for release in releases {
            for number in 1...3 {
                let row = rows.first { $0["release"] as? String == release && $0["host"] as? String == "host\(number)" }
                #expect(row?["version"] as? String == "0.1.0", "\(release) on host\(number): \(String(describing: row))")
                #expect(row?["node"] as? String == "\(release)@host\(number)")
                // The release really runs on that host: its own file system there holds the installed version.
                #expect(FileManager.default.fileExists(
                    atPath: directory.file("host\(number)/opt/\(release)/0.1.0/bin/\(release)")))
            }
        }
        // Six distinct OS processes, one per (release, host).
        let pids = Set(rows.compactMap { $0["os_pid"] as? Int })
        #expect(pids.count == 6)
        #expect(daemon.isRunning)

        // The daemon is killed and started again: it re-adopts every release and restarts none.
        daemon.signal(SIGKILL)
        _ = try await offload { try daemon.exit(within: .seconds(120)) }
        let restarted = try hosts.startDaemon(log: "daemon-2.log")
        defer { restarted.stop() }
        rows = try await hosts.allRunning(6, restarted)
        #expect(Set(rows.compactMap { $0["os_pid"] as? Int }) == pids)
        #expect(rows.allSatisfy { $0["restarts"] as? Int == 0 }, "\(rows)")
    }

    @Test(
        "a silent partition: the host's releases turn unreachable in time, the others stay running, and come back unrestarted",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(5)))
    func silentPartition() async throws {
        let hosts = try TestHosts(count: 2)
        defer { hosts.tearDown() }
        try await hosts.storeReleases(["service_app"])
        try hosts.writeConfig(releases: ["service_app"])
        let daemon = try hosts.startDaemon()
        defer { daemon.stop() }
        let before = try await hosts.allRunning(2, daemon)
        let cutPid = try #require(fleetRow(before, host: 2)?["os_pid"] as? Int)
        let otherPid = try #require(fleetRow(before, host: 1)?["os_pid"] as? Int)

        // No FIN, no RST: the link just goes quiet. keepalive 2 s × 3 and a 5 s tick timeout bound the detection.
        try hosts.setLink(2, up: false)
        let cut = ContinuousClock.now
        var rows: [[String: Any]] = []
        var otherStayed = true
        let unreachable = await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
            rows = (try? await hosts.status()) ?? []
            if fleetRow(rows, host: 1)?["status"] as? String != "running" { otherStayed = false }
            return fleetRow(rows, host: 2)?["status"] as? String == "unreachable"
        }
        let detection = ContinuousClock.now - cut
        #expect(unreachable, "\(rows)")
        #expect(detection <= .seconds(10), "unreachable after \(detection)")
        #expect(otherStayed, "host1 left running during the partition: \(rows)")
        #expect(fleetRow(rows, host: 1)?["os_pid"] as? Int == otherPid)

        // The link comes back: reconnected, the same OS process, no restart.
        try hosts.setLink(2, up: true)
        let after = try await hosts.allRunning(2, daemon)
        #expect(fleetRow(after, host: 2)?["os_pid"] as? Int == cutPid)
        #expect(fleetRow(after, host: 2)?["restarts"] as? Int == 0)
    }

    @Test(
        "crashes: a killed release is restarted, a killed sshd is reconnected, a rebooted host gets manage releases back and observe ones left alone",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(5)))
    func crashes() async throws {
        let hosts = try TestHosts(count: 2)
        defer { hosts.tearDown() }
        try await hosts.storeReleases(["service_app", "app2"])
        try hosts.writeConfig(releases: ["service_app", "app2"], placement: ["app2": [1]])
        let daemon = try hosts.startDaemon()
        defer { daemon.stop() }
        let socket = hosts.controlSocket
        var rows = try await hosts.allRunning(3, daemon)

        // kill -9 of a release: restarted under the policy.
        let killed = try #require(fleetRow(rows, "service_app", host: 2)?["os_pid"] as? Int)
        kill(Int32(killed), SIGKILL)
        rows = try await hosts.waitFor {
            let row = fleetRow($0, "service_app", host: 2)
            return row?["status"] as? String == "running" && (row?["os_pid"] as? Int).map { $0 != killed } == true
        }
        let restarted = try #require(fleetRow(rows, "service_app", host: 2))
        #expect((restarted["restarts"] as? Int ?? 0) >= 1, "\(restarted)")
        let restartedPid = try #require(restarted["os_pid"] as? Int)

        // kill -9 of the host's sshd: the release is not touched, and is reconnected once sshd is back.
        try hosts.kill(onHost: 2)
        rows = try await hosts.waitFor { fleetRow($0, "service_app", host: 2)?["status"] as? String == "unreachable" }
        try hosts.startSSHD(onHost: 2)
        rows = try await hosts.waitFor { fleetRow($0, "service_app", host: 2)?["status"] as? String == "running" }
        #expect(fleetRow(rows, "service_app", host: 2)?["os_pid"] as? Int == restartedPid)

        // app2 goes to observe mode by a reload; then host 1 reboots (every process killed, sshd started again).
        try hosts.writeConfig(releases: ["service_app", "app2"], placement: ["app2": [1]], modes: ["app2": "observe"])
        let reload = try await offload { try runCommand(controlnodeExecutable(), ["reload", "--socket", socket]) }
        #expect(reload.status == 0, "\(reload.output)")
        let beforeReboot = try #require(fleetRow(rows, "service_app", host: 1)?["os_pid"] as? Int)
        try hosts.kill(onHost: 1, everything: true)
        try hosts.startSSHD(onHost: 1)
        // Both have looked at the host again: app2 reconnects on its own backoff, which may end after service_app's
        // restart (until then it is unreachable, as its host was).
        rows = try await hosts.waitFor {
            let row = fleetRow($0, "service_app", host: 1)
            return row?["status"] as? String == "running" && (row?["os_pid"] as? Int).map { $0 != beforeReboot } == true
                && fleetRow($0, "app2", host: 1)?["status"] as? String != "unreachable"
        }
        let observed = fleetRow(rows, "app2", host: 1)
        #expect(observed?["status"] as? String == "not_running", "\(String(describing: observed))")
        #expect(observed?["mode"] as? String == "observe")
        // Left alone: it does not come back within a few seconds more (a manage release was back within two).
        let startedAgain = await eventually(timeout: .seconds(4), every: .milliseconds(250)) {
            (try? await hosts.status()).map { fleetRow($0, "app2", host: 1)?["status"] as? String } == "running"
        }
        #expect(!startedAgain)
        #expect(daemon.isRunning)
    }

    @Test(
        "bad hosts: a changed host key, a port that never speaks SSH, an EPMD port that answers garbage; the rest runs",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(5)))
    func badHosts() async throws {
        let hosts = try TestHosts(count: 3)
        defer { hosts.tearDown() }
        let directory = hosts.directory
        // host2 gets a new host key after its old one was recorded in known_hosts.
        let known = try String(contentsOfFile: hosts.knownHosts, encoding: .utf8)
        try hosts.kill(onHost: 2)
        for file in ["host_key", "host_key.pub"] { try FileManager.default.removeItem(atPath: directory.file("host2/\(file)")) }
        try hosts.startSSHD(onHost: 2)
        try known.write(toFile: hosts.knownHosts, atomically: true, encoding: .utf8)
        // host3 accepts TCP on port 22 and never says a word; host1 answers garbage on port 4400.
        try hosts.kill(onHost: 3)
        let silent = try hosts.serve(onHost: 3, port: 22, reply: nil, log: directory.file("silent.log"))
        defer { silent.stop() }
        let garbage = try hosts.serve(
            onHost: 1, port: 4400, loopback: true, reply: "this is not epmd\n", log: directory.file("garbage.log"))
        defer { garbage.stop() }

        try await hosts.storeReleases(["service_app", "app2"])
        try hosts.writeConfig(releases: ["service_app", "app2"], placement: ["app2": [4]], extraHost: true)
        let daemon = try hosts.startDaemon()
        defer { daemon.stop() }
        let rows = try await hosts.waitFor { rows in
            rows.count == 4 && fleetRow(rows, host: 1)?["status"] as? String == "running"
                && [2, 3].allSatisfy { fleetRow(rows, host: $0)?["status"] as? String == "unreachable" }
                && fleetRow(rows, "app2", host: 4)?["last_error"] as? String != nil
        }
        let changed = try #require(fleetRow(rows, host: 2)?["last_error"] as? String)
        #expect(changed.contains("HOST KEY CHANGED") && changed.components(separatedBy: "SHA256:").count >= 3, "\(changed)")
        let mute = try #require(fleetRow(rows, host: 3)?["last_error"] as? String)
        #expect(mute.contains("198.18.0.13"), "\(mute)")
        let epmd = try #require(fleetRow(rows, "app2", host: 4)?["last_error"] as? String)
        #expect(epmd.contains("EPMD"), "\(epmd)")
        #expect(fleetRow(rows, "app2", host: 4)?["status"] as? String != "running")
        // Nothing was sent to the hosts that failed, and the daemon still answers and runs the good one.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("host2/opt")).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("host3/opt")).isEmpty)
        #expect(daemon.isRunning)
        #expect(!daemon.log.contains(try String(contentsOfFile: directory.file("cookie"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}
