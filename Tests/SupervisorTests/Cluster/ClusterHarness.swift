import Foundation
import Testing

/// A real etcd (Debian's etcd-server) in a namespace of its own on the test hosts' bridge (PREFIX-e, 198.18.0.3),
/// its data under the hosts' directory, so that it can be killed and started again with its keys.
final class EtcdFixture: @unchecked Sendable {
    // @unchecked: `process` is replaced only by start(), which the test calls from one task at a time.
    static let unavailableReason: String? =
        TestHosts.unavailableReason
        ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") ? nil : "etcd is missing (apt-get install etcd-server)")

    let hosts: TestHosts
    let address = "198.18.0.3"
    var endpoint: String { "http://\(address):2379" }
    private(set) var process: TestProcess?
    private var starts = 0

    init(hosts: TestHosts) throws {
        self.hosts = hosts
        try hosts.join("e", address: address)
        try start()
    }

    deinit { process?.stop() }

    /// Starts etcd (again) and waits until it answers.
    func start() throws {
        starts += 1
        let data = hosts.directory.file("etcd-data")
        process = try TestProcess(
            "/usr/bin/ip",
            ["netns", "exec", "\(hosts.prefix)-e", "/usr/bin/etcd", "--name", "test", "--data-dir", data,
             "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
             "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
             "--initial-cluster", "test=http://127.0.0.1:2380"],
            logPath: hosts.directory.file("etcd-\(starts).log"), name: "etcd")
        let health = "for i in $(seq 200); do curl -fs \(endpoint)/health | grep -q true && exit 0; sleep 0.1; done; exit 1"
        let (status, _) = try runCommand("/usr/bin/ip", ["netns", "exec", "\(hosts.prefix)-e", "/bin/sh", "-c", health])
        guard status == 0 else { throw FixtureError("etcd did not become healthy: \(process?.log.suffix(2000) ?? "")") }
    }

    /// Kills etcd with SIGKILL and waits for it to exit.
    func kill() throws {
        process?.signal(SIGKILL)
        _ = try process?.exit(within: .seconds(30))
    }

    /// `etcdctl ARGS` against this etcd, from its namespace.
    func etcdctl(_ arguments: [String]) throws -> String {
        let (status, output) = try runCommand(
            "/usr/bin/ip", ["netns", "exec", "\(hosts.prefix)-e", "/usr/bin/etcdctl", "--endpoints", endpoint] + arguments,
            environment: ["ETCDCTL_API": "3"])
        guard status == 0 else { throw FixtureError("etcdctl \(arguments.joined(separator: " ")): \(output)") }
        return output
    }
}

/// A control machine of the cluster tests: a namespace PREFIX-cN at 198.18.0.(3+N) with a daemon of its own
/// (member ctl-N, its own control socket and state directory; the registry is shared).
struct ControlMachine {
    let number: Int
    var name: String { "ctl-\(number)" }
    var namespace: String { "c\(number)" }
    var address: String { "198.18.0.\(3 + number)" }
    let socket: String
    let process: TestProcess
}

extension TestHosts {
    /// The fleet's configuration (`writeConfig`) for member `number`, with its own socket and state directory
    /// and a `[cluster]` table naming `etcd`.
    func writeMemberConfig(_ number: Int, etcd: EtcdFixture, ttl: String, mode: String = "active-standby") throws -> String {
        let base = try String(contentsOfFile: directory.file("controlnode.toml"), encoding: .utf8)
        var lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for index in lines.indices {
            if lines[index].hasPrefix("control_socket =") {
                lines[index] = "control_socket = \"\(directory.file("ctl-\(number).sock"))\""
            } else if lines[index].hasPrefix("state_dir =") {
                lines[index] = "state_dir = \"\(directory.file("state-\(number)"))\""
            }
        }
        lines += [
            "", "[cluster]", "etcd_endpoints = [\"\(etcd.endpoint)\"]", "member_name = \"ctl-\(number)\"",
            "lease_ttl = \"\(ttl)\"", "mode = \"\(mode)\"", "key_prefix = \"/controlnode-test/\"",
        ]
        let name = "member-\(number).toml"
        try directory.write(name, lines.joined(separator: "\n") + "\n", mode: 0o644)
        return directory.file(name)
    }

    /// Starts member `number`'s daemon in its namespace (made on first use), logging to `ctl-N-K.log`.
    func startMember(
        _ number: Int, etcd: EtcdFixture, ttl: String, mode: String = "active-standby", run: Int = 1,
        executable: String = controlnodeExecutable(), environment: [String: String] = [:]
    ) throws -> ControlMachine {
        let namespace = "\(prefix)-c\(number)"
        let (_, list) = try runCommand("/usr/bin/ip", ["netns", "list"])
        if !list.split(whereSeparator: \.isNewline).contains(where: { $0.hasPrefix(namespace + " ") || $0 == namespace }) {
            try join("c\(number)", address: "198.18.0.\(3 + number)")
        }
        let config = try writeMemberConfig(number, etcd: etcd, ttl: ttl, mode: mode)
        let process = try TestProcess(
            "/usr/bin/ip", ["netns", "exec", namespace, executable, "run", "--config", config, "--log-target", "stderr"],
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            logPath: directory.file("ctl-\(number)-\(run).log"), name: "controlnode ctl-\(number)")
        return ControlMachine(number: number, socket: directory.file("ctl-\(number).sock"), process: process)
    }

    /// Members 1 to `count`, started one after the other.
    func startMembers(_ count: Int, etcd: EtcdFixture, ttl: String) throws -> [ControlMachine] {
        try (1...count).map { try startMember($0, etcd: etcd, ttl: ttl) }
    }

    /// The first of `members` seen leading within `timeout`, polling every 100 ms, or nil.
    func firstToLead(_ members: [ControlMachine], timeout: Duration) async -> ControlMachine? {
        var found: ControlMachine?
        _ = await eventually(timeout: timeout, every: .milliseconds(100)) {
            for member in members where await self.role(member) == "leader" {
                found = member
                return true
            }
            return false
        }
        return found
    }

    /// Polls `member`'s status until `pairs` rows all say running (within 60 s); returns whether they did and
    /// the last rows.
    func allRunning(on member: ControlMachine, pairs: Int) async -> (running: Bool, rows: [[String: Any]]) {
        var rows: [[String: Any]] = []
        let running = await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
            rows = (try? await self.status(socket: member.socket)) ?? []
            return rows.count == pairs && rows.allSatisfy { $0["status"] as? String == "running" }
        }
        return (running, rows)
    }

    /// `cluster status --json` of `member`, or nil when it does not answer.
    func clusterStatus(_ member: ControlMachine) async -> [String: Any]? {
        let socket = member.socket
        guard let result = try? await offload({
            try runCommand(controlnodeExecutable(), ["cluster", "status", "--json", "--socket", socket])
        }), result.status == 0 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8))) as? [String: Any]
    }

    /// The role `member` reports, or nil when it does not answer.
    func role(_ member: ControlMachine) async -> String? { await clusterStatus(member)?["role"] as? String }

    /// Waits until one of `members` leads and reports `pairs` rows all running; returns it and its rows.
    func leaderWithAllRunning(_ members: [ControlMachine], pairs: Int, timeout: Duration = .seconds(180)) async throws
        -> (leader: ControlMachine, rows: [[String: Any]])
    {
        var found: (ControlMachine, [[String: Any]])?
        var seen: [String] = []
        _ = await eventually(timeout: timeout, every: .milliseconds(300)) {
            seen = []
            for member in members where member.process.isRunning {
                let role = await self.role(member)
                seen.append("\(member.name): \(role ?? "no answer")")
                guard role == "leader" else { continue }
                let rows = (try? await self.status(socket: member.socket)) ?? []
                if rows.count == pairs && rows.allSatisfy({ $0["status"] as? String == "running" }) {
                    found = (member, rows)
                    return true
                }
            }
            return false
        }
        let logs = members.map { "\($0.name):\n\($0.process.log.suffix(1500))" }.joined(separator: "\n")
        let result = try #require(found, "no leader with \(pairs) running: \(seen)\n\(logs)")
        return (result.0, result.1)
    }
}

/// The OS pid of each (release, host) in `rows`, as `release@host`.
func pidsByPair(_ rows: [[String: Any]]) -> [String: Int] {
    Dictionary(uniqueKeysWithValues: rows.compactMap { row in
        guard let release = row["release"] as? String, let host = row["host"] as? String, let pid = row["os_pid"] as? Int
        else { return nil }
        return ("\(release)@\(host)", pid)
    })
}
