import Foundation
import Testing

/// What the fleet tests share: releases stored in the daemon's registry, its configuration, the daemon itself
/// in its namespace, and `status --json` read through its control socket.
extension TestHosts {
    /// The daemon's control socket.
    var controlSocket: String { directory.file("control.sock") }

    /// The fixture release, and copies of it under other names (bin/NAME; started with RELEASE_NODE=NAME),
    /// stored in the daemon's registry with its own CLI.
    func storeReleases(_ names: [String]) async throws {
        let tarball = try await ReleaseFixture.tarball("0.1.0")
        let unpacked = directory.file("unpacked-\(names.joined(separator: "-"))")
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        try checked(runCommand("/bin/tar", ["-xzf", tarball, "-C", unpacked]))
        var current = ReleaseFixture.name
        for name in names {
            var source = tarball
            if name != current {
                try FileManager.default.moveItem(atPath: "\(unpacked)/bin/\(current)", toPath: "\(unpacked)/bin/\(name)")
                current = name
                source = directory.file("\(name)-0.1.0.tar.gz")
                // Fast compression: only the test's time is at stake, and a copy per name adds up.
                // The top-level entries, not ".": the registry refuses a ./ member (its owner and mode would be the
                // version directory's).
                let entries = try FileManager.default.contentsOfDirectory(atPath: unpacked).sorted()
                try checked(runCommand("/bin/tar", ["-I", "gzip -1", "-cf", source, "-C", unpacked] + entries))
            }
            try checked(runCommand(
                controlnodeExecutable(), ["registry", "add", source, "--registry", directory.file("registry")]))
        }
    }

    /// Every release on every host unless `placement` names the hosts (by number); manage mode unless `modes`
    /// says; `env` is added to each release's environment. With `extraHost`, a host(count+1) entry names host 1
    /// again with EPMD on port 4400. `timing` holds the keepalive and tick settings: short ones by default, so
    /// that partitions show within seconds; empty for the daemon's defaults. `version` is each release's, and
    /// `extra` adds lines to a release's table (an `update` or `health_check` table).
    func writeConfig(
        releases: [String], placement: [String: [Int]] = [:], modes: [String: String] = [:],
        env: [String: String] = [:], startTimeout: String = "60s", extraHost: Bool = false,
        timing: String = "keepalive_interval = \"2s\"\ntick_timeout = \"5s\"", version: String = "0.1.0",
        extra: [String: String] = [:]
    ) throws {
        if !FileManager.default.fileExists(atPath: directory.file("cookie")) {
            try directory.write("cookie", "fleet-\(UInt64.random(in: 0...UInt64.max))\n", mode: 0o600)
        }
        var text = """
            [daemon]
            control_socket = "\(controlSocket)"
            registry = "\(directory.file("registry"))"
            state_dir = "\(directory.file("state"))"
            known_hosts = "\(knownHosts)"
            \(timing)

            """
        for number in 1...(extraHost ? count + 1 : count) {
            text += """

                [hosts.host\(number)]
                address = "\(address(number <= count ? number : 1))"
                port = 22
                user = "root"
                identity_file = "\(clientKey)"
                \(number <= count ? "" : "epmd_port = 4400")

                """
        }
        for release in releases {
            let hostList = (placement[release] ?? Array(1...count)).map { "\"host\($0)\"" }.joined(separator: ", ")
            let environment = (["RELEASE_NODE": release].merging(env) { $1 })
                .sorted { $0.key < $1.key }.map { "\($0.key) = \"\($0.value)\"" }.joined(separator: ", ")
            text += """

                [releases.\(release)]
                base_path = "\(directory.file("opt/\(release)"))"
                cookie_file = "\(directory.file("cookie"))"
                hosts = [\(hostList)]
                version = "\(version)"
                mode = "\(modes[release] ?? "manage")"
                start_timeout = "\(startTimeout)"
                env = { \(environment) }
                \(extra[release] ?? "")

                """
        }
        try directory.write("controlnode.toml", text, mode: 0o644)
    }

    /// `controlnode run` (the test build, or `executable`) in the daemon's namespace (`ip netns exec` execs it in
    /// place: the pid is the daemon's), with `environment` added to the test's own.
    func startDaemon(
        log: String = "daemon.log", environment: [String: String] = [:], executable: String = controlnodeExecutable()
    ) throws -> TestProcess {
        try TestProcess(
            "/usr/bin/ip",
            ["netns", "exec", daemonNamespace, executable, "run", "--config",
             directory.file("controlnode.toml"), "--log-target", "stderr"],
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            logPath: directory.file(log), name: "controlnode")
    }

    /// One `status --json` (of the daemon at `socket`, else the fleet's one), or no rows when it does not answer.
    func status(socket: String? = nil) async throws -> [[String: Any]] {
        let socket = socket ?? controlSocket
        let result = try await offload { try runCommand(controlnodeExecutable(), ["status", "--json", "--socket", socket]) }
        guard result.status == 0 else { return [] }
        return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]] ?? []
    }

    /// Polls `status --json` until `condition` holds (within `timeout`), and returns the rows that satisfied it.
    func waitFor(timeout: Duration = .seconds(60), _ condition: @escaping @Sendable ([[String: Any]]) -> Bool)
        async throws -> [[String: Any]]
    {
        var rows: [[String: Any]] = []
        let met = await eventually(timeout: timeout, every: .milliseconds(250)) {
            rows = (try? await self.status()) ?? []
            return condition(rows)
        }
        try #require(met, "\(rows)")
        return rows
    }

    /// Waits until `count` rows all say running, and returns them.
    func allRunning(_ count: Int, _ daemon: TestProcess, timeout: Duration = .seconds(180)) async throws
        -> [[String: Any]]
    {
        var rows: [[String: Any]] = []
        var running = false
        // A daemon that exited will not get there: stop waiting at once.
        _ = await eventually(timeout: timeout, every: .milliseconds(500)) {
            rows = (try? await self.status()) ?? []
            running = rows.count == count && rows.allSatisfy { $0["status"] as? String == "running" }
            return running || !daemon.isRunning
        }
        let summary = Dictionary(grouping: rows) { $0["status"] as? String ?? "?" }.mapValues(\.count)
        try #require(running, "\(summary) \(rows.prefix(3))\n\(daemon.log.suffix(3000))")
        return rows
    }

    private func checked(_ result: (status: Int32, output: String)) throws {
        guard result.status == 0 else { throw FixtureError("command failed: \(result.output)") }
    }
}

/// The row of `release` on host `number`.
func fleetRow(_ rows: [[String: Any]], _ release: String = "service_app", host number: Int) -> [String: Any]? {
    rows.first { $0["host"] as? String == "host\(number)" && $0["release"] as? String == release }
}
