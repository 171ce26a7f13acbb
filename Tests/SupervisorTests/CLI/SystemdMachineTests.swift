import Foundation
import Testing

/// The Debian package under a real systemd: a Debian 12 container booted with systemd-nspawn, with no Swift
/// toolchain and no network, `controlnode_<version>_<arch>.deb` (scripts/build-deb.sh) installed by apt, an sshd on
/// the container's own loopback as the host, and the fixture release deployed there by the daemon; then the package
/// removed and purged, and the same binary installed from source by `packaging/install.sh`.
@Suite("controlnode.service under real systemd (systemd-nspawn)", .serialized)
struct SystemdMachineTests {
    @Test(
        "apt installs the .deb, unit disabled; start waits for READY; accept-new learns into the state directory; journal fields; reload; an upgrade restarts the daemon; the watchdog kills a stuck daemon; stop leaves the release running; dpkg -r keeps the configuration, dpkg -P removes it; then install.sh's unit starts",
        .enabled(if: NspawnMachine.isAvailable, "\(NspawnMachine.unavailableReason ?? "")"),
        .timeLimit(.minutes(10)))
    func unitUnderSystemd() async throws {
        let staging = try TemporaryDirectory(prefix: "controlnode-nspawn")
        defer { staging.remove() }
        try stage(into: staging, package: try await DebianPackage.path(), binary: try await PackagedBuild.executable())
        try FileManager.default.copyItem(
            atPath: try await ReleaseFixture.tarball("0.1.0"), toPath: staging.file("service_app-0.1.0.tar.gz"))
        let machine = try await NspawnMachine(staging: staging.path, logPath: staging.file("console.log"))
        defer { machine.stop() }

        let setup = try await machine.run("bash /staging/setup.sh 2>&1")
        try #require(setup.status == 0, "setup inside the container failed (\(setup.status)):\n\(setup.output)")

        // What the package's postinst did: the user, the registry (tmpfiles.d), the configuration given to the
        // controlnode group; the unit is registered but neither enabled nor started before it is configured.
        #expect(try await machine.property("FragmentPath", of: "controlnode") == "/lib/systemd/system/controlnode.service")
        #expect(try await machine.property("UnitFileState", of: "controlnode") == "disabled")
        #expect(try await machine.property("ActiveState", of: "controlnode") == "inactive")
        let installed = try await machine.run(
            "stat -c '%n %U:%G %a' /usr/bin/controlnode /var/lib/controlnode/registry && dpkg-statoverride --list")
        #expect(installed.output.contains("/usr/bin/controlnode root:root 755\n"), "\(installed.output)")
        #expect(installed.output.contains("/var/lib/controlnode/registry controlnode:controlnode 750\n"), "\(installed.output)")
        #expect(installed.output.contains("root controlnode 750 /etc/controlnode\n"), "\(installed.output)")
        #expect(installed.output.contains("root controlnode 640 /etc/controlnode/controlnode.toml\n"), "\(installed.output)")

        // `systemctl start` returns once READY=1 arrived, and READY waits for the release to run.
        let start = try await machine.run("systemctl start controlnode 2>&1")
        #expect(start.status == 0, "\(start.output)")
        #expect(try await machine.property("ActiveState", of: "controlnode") == "active")
        let status = try await machine.run("controlnode status --json --socket /run/controlnode/control.sock")
        let rows = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [[String: Any]]
        #expect(rows?.first?["status"] as? String == "running", "\(status.output)")
        #expect(rows?.first?["version"] as? String == "0.1.0")
        let releasePid = try #require(rows?.first?["os_pid"] as? Int, "\(status.output)")

        // /metrics under the unit's sandbox and system-call filter (SwiftNIO's event loop), read with bash's /dev/tcp:
        // the release up, and the node's own figures once it has been asked.
        var scrape = ""
        let scraped = await eventually(timeout: .seconds(20), every: .milliseconds(500)) {
            scrape = (try? await machine.run(
                #"bash -c 'exec 3<>/dev/tcp/127.0.0.1/9568 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3'"#))?.output ?? ""
            return scrape.contains("controlnode_node_processes{")
        }
        #expect(scraped, "\(scrape)")
        #expect(scrape.contains(#"controlnode_release_up{release="service_app",host="box"} 1"#), "\(scrape)")

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

        // An upgrade (the same version again) restarts the running daemon (postinst's try-restart returns after
        // READY), keeps the edited conffile without asking, and adds no second statoverride; the release runs on.
        let daemonBefore = try await machine.property("MainPID", of: "controlnode")
        let upgrade = try await machine.run(
            "cd /staging && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall ./controlnode_*.deb 2>&1")
        #expect(upgrade.status == 0, "\(upgrade.output)")
        #expect(try await machine.property("ActiveState", of: "controlnode") == "active")
        #expect(try await machine.property("MainPID", of: "controlnode") != daemonBefore)
        let upgraded = try await machine.run(
            "grep -c accept-new /etc/controlnode/controlnode.toml; dpkg-statoverride --list | grep -c controlnode")
        #expect(upgraded.output == "1\n2\n", "\(upgraded.output)")
        let afterUpgrade = try await machine.run("controlnode status --json --socket /run/controlnode/control.sock")
        let upgradedRows = try JSONSerialization.jsonObject(with: Data(afterUpgrade.output.utf8)) as? [[String: Any]]
        #expect(upgradedRows?.first?["os_pid"] as? Int == releasePid, "\(afterUpgrade.output)")

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

        // dpkg -r takes the daemon's files and keeps the configuration (the administrator's edit of the conffile);
        // the release runs on.
        let remove = try await machine.run("dpkg -r controlnode 2>&1")
        #expect(remove.status == 0, "\(remove.output)")
        let removed = try await machine.run(
            "dpkg-query -W -f='${Status}\n' controlnode; for f in /usr/bin/controlnode /lib/systemd/system/controlnode.service;"
                + " do [ ! -e $f ] || echo \"$f is still there\"; done;"
                + " cat /etc/controlnode/controlnode.toml; kill -0 \(releasePid) && echo release-running")
        #expect(removed.output.hasPrefix("deinstall ok config-files\n"), "\(removed.output)")
        #expect(!removed.output.contains("still there"), "\(removed.output)")
        #expect(removed.output.contains("host_key_policy = \"accept-new\""), "\(removed.output)")
        #expect(removed.output.hasSuffix("release-running\n"), "\(removed.output)")
        // dpkg -P removes the configuration and its permissions; the files the administrator added stay.
        let purge = try await machine.run("dpkg -P controlnode 2>&1")
        #expect(purge.status == 0, "\(purge.output)")
        let purged = try await machine.run(
            "dpkg-query -W controlnode 2>&1; dpkg-statoverride --list | grep controlnode; ls -A /etc/controlnode")
        #expect(purged.output == "dpkg-query: no packages found matching controlnode\nid_ed25519\nknown_hosts\nservice_app.cookie\n",
            "\(purged.output)")

        // The from-source path on the same machine: install.sh's unit, in /etc, runs /usr/local/bin/controlnode;
        // the state purge kept lets it find the release still running, untouched.
        let fromSource = try await machine.run("bash /staging/from-source.sh 2>&1")
        try #require(fromSource.status == 0, "packaging/install.sh inside the container failed:\n\(fromSource.output)")
        let restart = try await machine.run("systemctl start controlnode 2>&1")
        #expect(restart.status == 0, "\(restart.output)")
        #expect(try await machine.property("FragmentPath", of: "controlnode") == "/etc/systemd/system/controlnode.service")
        #expect(try await machine.property("ActiveState", of: "controlnode") == "active")
        let again = try await machine.run("controlnode status --json --socket /run/controlnode/control.sock")
        let rowsAgain = try JSONSerialization.jsonObject(with: Data(again.output.utf8)) as? [[String: Any]]
        #expect(rowsAgain?.first?["status"] as? String == "running", "\(again.output)")
        #expect(rowsAgain?.first?["os_pid"] as? Int == releasePid, "\(again.output)")
        let stopAgain = try await machine.run("systemctl stop controlnode 2>&1")
        #expect(stopAgain.status == 0, "\(stopAgain.output)")
    }

    static let cookie = "nspawn-test-cookie-\(UInt32.random(in: 0...UInt32.max))"
    /// The pinned file names another host only, so the container's own sshd is learned under accept-new.
    static let pinnedKnownHosts = "# pinned by the administrator\n192.0.2.99 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"

    /// The package, the binary and packaging for install.sh, the fixture release, keys, the configuration and the
    /// set-up scripts.
    private func stage(into staging: TemporaryDirectory, package: String, binary: String) throws {
        let manager = FileManager.default
        // The daemon's user inside reads the tarball from here (registry add).
        try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: staging.path)
        try manager.copyItem(atPath: package, toPath: staging.file(URL(fileURLWithPath: package).lastPathComponent))
        try manager.copyItem(atPath: binary, toPath: staging.file("controlnode"))
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
            metrics_listen = "127.0.0.1:9568"
            node_metrics_interval = "1s"

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
            # Offline (the container has no network), so every Depends must be in the image already. (apt 2.6
            # refuses --no-download for a local .deb: "Pathname to install is not absolute".)
            cd /staging && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./controlnode_*.deb
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
        try staging.write("from-source.sh", """
            set -eu
            CONTROLNODE_BINARY=/staging/controlnode /staging/packaging/install.sh
            install -m 0640 -o root -g controlnode /staging/controlnode.toml /etc/controlnode/controlnode.toml
            """, mode: 0o644)
    }
}
