import Foundation
import Testing

/// Wrong inputs against a running fleet: each ends in an error that names its cause, leaves nothing half-done on
/// the host, and leaves the daemon serving every other release.
@Suite("bad input to a fleet of test hosts", .serialized)
struct FleetBadInputTests {
    @Test(
        "a config with errors, mislabelled and truncated tarballs, a wrong cookie, an unwritable base path, a full disk",
        .enabled(if: TestHosts.isAvailable, "\(TestHosts.unavailableReason ?? "")"),
        .timeLimit(.minutes(5)))
    func badInput() async throws {
        let hosts = try TestHosts(count: 2)
        defer { hosts.tearDown() }
        let directory = hosts.directory
        try await hosts.storeReleases(["service_app", "app2"])
        // app2 has a cookie of its own, changed later under the running node.
        try directory.write("cookie2", "first-\(UInt64.random(in: 0...UInt64.max))\n", mode: 0o600)
        try hosts.writeConfig(releases: ["service_app", "app2"], placement: ["app2": [1]])
        try Self.useCookie2(for: "app2", in: directory)
        let daemon = try hosts.startDaemon()
        defer { daemon.stop() }
        let healthy = try await hosts.allRunning(3, daemon)
        let pids = Dictionary(uniqueKeysWithValues: healthy.map { row in
            ("\(row["release"] as? String ?? "")@\(row["host"] as? String ?? "")", row["os_pid"] as? Int ?? 0)
        })
        let cli = { (arguments: [String]) in try await offload { try runCommand(controlnodeExecutable(), arguments) } }
        let socket = ["--socket", hosts.controlSocket]
        let registry = ["--registry", directory.file("registry")]

        // A config with errors is refused by reload, naming the file, line and key; the old one stays in force.
        let good = try String(contentsOfFile: directory.file("controlnode.toml"), encoding: .utf8)
        try directory.write("controlnode.toml", good + "\n[releases.broken]\nbase_path = \"/opt/broken\"\nhosts = [\"nowhere\"]\nfrobnicate = 1\n", mode: 0o644)
        let reload = try await cli(["reload"] + socket)
        #expect(reload.status != 0)
        #expect(reload.output.contains("controlnode.toml:") && reload.output.contains("frobnicate"), "\(reload.output)")
        #expect(reload.output.contains("stays in force"), "\(reload.output)")
        try directory.write("controlnode.toml", good, mode: 0o644)

        // Tarballs that lie about their contents, or stop short, never enter the registry.
        let original = try await ReleaseFixture.tarball("0.1.0")
        try FileManager.default.copyItem(atPath: original, toPath: directory.file("other-0.1.0.tar.gz"))
        try FileManager.default.copyItem(atPath: original, toPath: directory.file("service_app-0.3.0.tar.gz"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: original))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: directory.file("service_app-0.4.0.tar.gz")))
        for (file, cause) in [("other-0.1.0.tar.gz", "service_app"), ("service_app-0.3.0.tar.gz", "0.1.0"),
                              ("service_app-0.4.0.tar.gz", "incomplete")] {
            let add = try await cli(["registry", "add", directory.file(file)] + registry)
            #expect(add.status != 0, "\(file) was accepted")
            #expect(add.output.contains(file) && add.output.contains(cause), "\(file): \(add.output)")
        }
        let stored = try FileManager.default.contentsOfDirectory(atPath: directory.file("registry"))
        #expect(!stored.contains { $0.hasPrefix("other") || $0.contains("0.3.0") || $0.contains("0.4.0") }, "\(stored)")
        let missing = try await cli(["deploy", "service_app", "0.3.0", "--host", "host1", "--replace"] + socket)
        #expect(missing.status != 0 && missing.output.contains("0.3.0"), "\(missing.output)")

        // A base path the host cannot write to (a read-only mount there), and one on a disk too small for the
        // tarball (a 1 MB tmpfs): app3 and app4 on host 2 fail with the host's reason and leave nothing behind.
        try await hosts.storeReleases(["app3", "app4"])
        try hosts.inMountNamespace(ofHost: 2, """
            mkdir -p \(directory.file("opt/app3")) \(directory.file("opt/app4")) &&
            mount --bind \(directory.file("opt/app3")) \(directory.file("opt/app3")) &&
            mount -o remount,bind,ro \(directory.file("opt/app3")) &&
            mount -t tmpfs -o size=1m tmpfs \(directory.file("opt/app4"))
            """)
        try hosts.writeConfig(releases: ["service_app", "app2", "app3", "app4"], placement: ["app2": [1], "app3": [2], "app4": [2]])
        try Self.useCookie2(for: "app2", in: directory)
        // The wrong cookie: app2's file now holds another one than its running node.
        try directory.write("cookie2", "second-\(UInt64.random(in: 0...UInt64.max))\n", mode: 0o600)
        let applied = try await cli(["reload"] + socket)
        #expect(applied.status == 0, "\(applied.output)")
        let rows = try await hosts.waitFor { rows in
            ["app2": 1, "app3": 2, "app4": 2].allSatisfy { release, host in
                (fleetRow(rows, release, host: host)?["last_error"] as? String) != nil
            }
        }
        let cookieError = try #require(fleetRow(rows, "app2", host: 1)?["last_error"] as? String)
        #expect(cookieError.contains("cookie"), "\(cookieError)")
        let readOnly = try #require(fleetRow(rows, "app3", host: 2)?["last_error"] as? String)
        #expect(readOnly.contains("Read-only file system") && readOnly.contains("opt/app3"), "\(readOnly)")
        let full = try #require(fleetRow(rows, "app4", host: 2)?["last_error"] as? String)
        #expect(full.contains("No space left on device") && full.contains("opt/app4"), "\(full)")
        for (release, host) in [("app2", 1), ("app3", 2), ("app4", 2)] {
            #expect(fleetRow(rows, release, host: host)?["status"] as? String != "running")
        }
        // Nothing half-done: no tarball, temporary file or extraction left on the full disk; the node with the
        // other cookie was neither restarted nor deployed over.
        let leftovers = try hosts.inMountNamespace(ofHost: 2, "ls -A \(directory.file("opt/app4"))")
        #expect(leftovers.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left on the full disk: \(leftovers)")
        #expect(kill(pid_t(pids["app2@host1"] ?? 0), 0) == 0, "the node with the other cookie is gone")

        // Every other release kept running, in the same processes, and no cookie reached the log.
        let after = try await hosts.status()
        for (key, pid) in pids where !key.hasPrefix("app2@") {
            let parts = key.split(separator: "@").map(String.init)
            let row = after.first { $0["release"] as? String == parts[0] && $0["host"] as? String == parts[1] }
            #expect(row?["status"] as? String == "running" && row?["os_pid"] as? Int == pid, "\(key): \(String(describing: row))")
        }
        #expect(daemon.isRunning)
        for file in ["cookie", "cookie2"] {
            let secret = try String(contentsOfFile: directory.file(file), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!daemon.log.contains(secret))
        }
    }

    /// Points `release`'s cookie_file at `cookie2` in the config `writeConfig` wrote.
    private static func useCookie2(for release: String, in directory: TemporaryDirectory) throws {
        let path = directory.file("controlnode.toml")
        var text = try String(contentsOfFile: path, encoding: .utf8)
        guard let section = text.range(of: "[releases.\(release)]"),
            let line = text.range(of: "cookie_file = \"\(directory.file("cookie"))\"", range: section.upperBound..<text.endIndex)
        else { throw FixtureError("no cookie_file for \(release) in \(path)") }
        text.replaceSubrange(line, with: "cookie_file = \"\(directory.file("cookie2"))\"")
        try directory.write("controlnode.toml", text, mode: 0o644)
    }
}
