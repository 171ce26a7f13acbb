import Foundation
import Testing

/// The packaged unit under a real systemd: a Debian 12 container booted with systemd-nspawn, the binary and
/// packaging installed by `packaging/install.sh`, an sshd on the container's own loopback as the host, and the
/// fixture release deployed there by the daemon.
@Suite("controlnode.service under real systemd (systemd-nspawn)", .serialized)
struct SystemdMachineTests {
    @Test(
        "start waits for READY; accept-new learns into the state directory; journal fields; reload; the watchdog kills a stuck daemon; stop leaves the release running",
        .enabled(if: NspawnMachine.isAvailable, "\(NspawnMachine.unavailableReason ?? "")"),
        .timeLimit(.minutes(10)))
    func unitUnderSystemd() async throws {
        let staging = try TemporaryDirectory(prefix: "controlnode-nspawn")
        defer { staging.remove() }
        try stage(into: staging)
        try FileManager.default.copyItem(
            atPath: try await ReleaseFixture.tarball("0.1.0"), toPath: staging.file("service_app-0.1.0.tar.gz"))
        let machine = try await NspawnMachine(staging: staging.path, logPath: staging.file("console.log"))
        defer { machine.stop() }

        let setup = try await machine.run("bash /staging/setup.sh 2>&1")
        try #require(setup.status == 0, "setup inside the container failed (\(setup.status)):\n\(setup.output)")

        // `systemctl start` returns once READY=1 arrived, and READY waits for the release to run.
        let start = try await machine.run("systemctl start controlnode 2>&1")
        #expect(start.status == 0, "\(start.output)")
        #expect(try await machine.property("ActiveState", of: "controlnode") == "active")
        let status = try await machine.run("controlnode status --json --socket /run/controlnode/control.sock")
        let rows = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [[String: Any]]
        #expect(rows?.first?["status"] as? String == "running", "\(status.output)")
        #expect(rows?.first?["version"] as? String == "0.1.0")
        let releasePid = try #require(rows?.first?["os_pid"] as? Int, "\(status.output)")

        // accept-new under ProtectSystem=strict: /etc is read-only, so the key went to the state directory,
        // written by the daemon's user; the pinned file is as it was.
        let learned = try await machine.run(
            "stat -c '%U %a' /var/lib/controlnode/known_hosts && cat /var/lib/controlnode/known_hosts")
        #expect(learned.status == 0, "\(learned.output)")
        let hostKeys = try await machine.run("cut -d' ' -f1,2 /etc/ssh/ssh_host_*_key.pub").output.split(separator: "\n")
        #expect(hostKeys.map { "controlnode 600\n127.0.0.1 \($0)\n" }.contains(learned.output), "\(learned.output)")
        let pinned = try await machine.run("cat /etc/controlnode/known_hosts")
        #expect(pinned.output == Self.pinnedKnownHosts, "\(pinned.output)")

        // Structured fields a sysadmin filters on.
        let journal = try await machine.run("journalctl -u controlnode RELEASE=service_app -o json --no-pager")
        let entries = journal.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let deployed = try #require(entries.first { $0["EVENT"] as? String == "deployed" }, "\(journal.output)")
        #expect(deployed["HOST"] as? String == "box")
        #expect(deployed["VERSION"] as? String == "0.1.0")
        #expect(deployed["SYSLOG_IDENTIFIER"] as? String == "controlnode")
        #expect(!journal.output.contains(Self.cookie))

        // systemctl reload goes through SIGHUP and READY again; the release is untouched.
        let reload = try await machine.run("systemctl reload controlnode 2>&1")
        #expect(reload.status == 0, "\(reload.output)")
        #expect(try await machine.property("ActiveState", of: "controlnode") == "active")

        // A daemon that stops answering is killed by the watchdog and restarted.
        let mainPid = try await machine.property("MainPID", of: "controlnode")
        _ = try await machine.run("kill -STOP \(mainPid)")
        #expect(await eventually(timeout: .seconds(30)) {
            (try? await machine.property("NRestarts", of: "controlnode")) == "1"
        })
        let watchdog = try await machine.run("journalctl -u controlnode --no-pager")
        #expect(watchdog.output.contains("Watchdog timeout"), "\(watchdog.output.suffix(2000))")
        #expect(await eventually(timeout: .seconds(30)) {
            (try? await machine.property("ActiveState", of: "controlnode")) == "active"
        })

        // systemctl stop closes everything and leaves the release running, with the same pid.
        let stop = try await machine.run("systemctl stop controlnode 2>&1")
        #expect(stop.status == 0, "\(stop.output)")
        #expect(try await machine.property("ActiveState", of: "controlnode") == "inactive")
        #expect(try await machine.property("Result", of: "controlnode") == "success")
        // The restarted daemon found the learned key and added nothing.
        let relearned = try await machine.run("cat /var/lib/controlnode/known_hosts")
        #expect(relearned.output == learned.output.split(separator: "\n", maxSplits: 1).last.map { String($0) })
        let alive = try await machine.run("kill -0 \(releasePid) && /opt/service_app/current/erts-*/bin/epmd -names")
        #expect(alive.status == 0 && alive.output.contains("name service_app "), "\(alive.output)")
    }

    static let cookie = "nspawn-test-cookie-\(UInt32.random(in: 0...UInt32.max))"
    /// The pinned file names another host only, so the container's own sshd is learned under accept-new.
    static let pinnedKnownHosts = "# pinned by the administrator\n192.0.2.99 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"

    /// The binary, the packaging, the fixture release, keys, the configuration and the set-up script.
    private func stage(into staging: TemporaryDirectory) throws {
        let manager = FileManager.default
        // The daemon's user inside reads the tarball from here (registry add).
        try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: staging.path)
        try manager.copyItem(atPath: controlnodeExecutable(), toPath: staging.file("controlnode"))
        try manager.copyItem(atPath: PackagingTests.repository + "/packaging", toPath: staging.file("packaging"))
        let (keygen, output) = try runCommand("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", staging.file("id_ed25519")])
        guard keygen == 0 else { throw FixtureError("ssh-keygen failed: \(output)") }
        try staging.write("cookie", Self.cookie + "\n", mode: 0o644)
        try staging.write("known_hosts", Self.pinnedKnownHosts, mode: 0o644)
        try staging.write("controlnode.toml", """
            [daemon]
            known_hosts = "/etc/controlnode/known_hosts"
            host_key_policy = "accept-new"
            keepalive_interval = "2s"
            tick_timeout = "5s"

            [hosts.box]
            address = "127.0.0.1"
            port = 22
            user = "root"
            identity_file = "/etc/controlnode/id_ed25519"

            [releases.service_app]
            base_path = "/opt/service_app"
            cookie_file = "/etc/controlnode/service_app.cookie"
            hosts = ["box"]
            version = "0.1.0"
            mode = "manage"
            start_timeout = "60s"
            """, mode: 0o644)
        try staging.write("setup.sh", """
            set -eu
            CONTROLNODE_BINARY=/staging/controlnode /staging/packaging/install.sh
            install -m 0640 -o root -g controlnode /staging/controlnode.toml /etc/controlnode/controlnode.toml
            install -m 0600 -o controlnode -g controlnode /staging/id_ed25519 /etc/controlnode/id_ed25519
            install -m 0600 -o controlnode -g controlnode /staging/cookie /etc/controlnode/service_app.cookie
            install -m 0644 -o root -g root /staging/known_hosts /etc/controlnode/known_hosts
            install -d -m 0700 /root/.ssh
            install -m 0600 /staging/id_ed25519.pub /root/.ssh/authorized_keys
            mkdir -p /etc/systemd/system/controlnode.service.d
            printf '[Service]\\nWatchdogSec=3s\\nRestartSec=1s\\n' > /etc/systemd/system/controlnode.service.d/test.conf
            runuser -u controlnode -- controlnode registry add /staging/service_app-0.1.0.tar.gz \\
              --registry /var/lib/controlnode/registry
            systemctl daemon-reload
            systemctl is-active ssh
            """, mode: 0o644)
    }
}
