import Foundation

/// Test hosts as network namespaces (`scripts/test-hosts.sh`): a bridge, a namespace for the daemon at
/// 198.18.0.2 and N hosts at 198.18.0.11, .12, ..., each with its own sshd, host name (hostN) and, once a release
/// runs there, its own EPMD. Nothing of it exists on the machine's own interfaces; `tearDown()` removes every
/// namespace, link and process, and `deinit` does too when a test fails before it.
final class TestHosts: @unchecked Sendable {
    // @unchecked: set up once; `tornDown` is only read and written by tearDown, called from one task at a time.
    /// Why namespaces cannot be made here, or nil when they can.
    static let unavailableReason: String? = {
        if geteuid() != 0 { return "needs root to create network namespaces" }
        for tool in ["/usr/bin/ip", "/usr/bin/unshare", "/usr/sbin/sshd", "/usr/bin/ssh-keygen"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install iproute2 util-linux openssh-server)"
        }
        let probe = "cnprobe\(getpid())"
        guard let (status, output) = try? runCommand("/usr/bin/ip", ["netns", "add", probe]), status == 0 else {
            return "cannot create a network namespace here (ip netns add failed)"
        }
        _ = output
        _ = try? runCommand("/usr/bin/ip", ["netns", "del", probe])
        return nil
    }()

    static var isAvailable: Bool { unavailableReason == nil }

    let prefix: String
    let count: Int
    let directory: TemporaryDirectory
    private var tornDown = false

    static var script: String { PackagingTests.repository + "/scripts/test-hosts.sh" }

    /// Creates `count` hosts.
    init(count: Int) throws {
        prefix = "cn\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        self.count = count
        // Under /var/tmp: the hosts' releases are extracted here, and /tmp can be a small or crowded file system.
        directory = try TemporaryDirectory(prefix: "controlnode-hosts", parent: "/var/tmp")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let (status, output) = try runCommand("/bin/bash", [Self.script, "up", prefix, "\(count)", directory.path])
        guard status == 0 else {
            tearDown()
            throw FixtureError("could not create the test hosts: \(output)")
        }
    }

    deinit { tearDown() }

    /// The address of host `number` (1-based).
    func address(_ number: Int) -> String { "198.18.0.\(10 + number)" }
    /// The client key every host accepts for root.
    var clientKey: String { directory.file("id_ed25519") }
    /// A known_hosts file with every host's key.
    var knownHosts: String { directory.file("known_hosts") }
    /// The namespace the daemon runs in.
    var daemonNamespace: String { "\(prefix)-d" }

    /// Takes host `number`'s link down (a silent partition) or up again.
    func setLink(_ number: Int, up: Bool) throws {
        let (status, output) = try runCommand("/bin/bash", [Self.script, "link", prefix, "\(number)", up ? "up" : "down"])
        guard status == 0 else { throw FixtureError("could not set the link of host \(number): \(output)") }
    }

    /// Takes the link of namespace PREFIX-`name` (an etcd or control machine of the cluster tests) down or up.
    func setLink(named name: String, up: Bool) throws {
        let (status, output) = try runCommand("/bin/bash", [Self.script, "link", prefix, name, up ? "up" : "down"])
        guard status == 0 else { throw FixtureError("could not set the link of \(name): \(output)") }
    }

    /// Adds namespace PREFIX-`name` at `address` on the bridge; torn down with the hosts.
    func join(_ name: String, address: String) throws {
        let (status, output) = try runCommand("/bin/bash", [Self.script, "join", prefix, name, address])
        guard status == 0 else { throw FixtureError("could not add namespace \(name): \(output)") }
    }

    /// The OS pids of the BEAMs of `release` running on host `number` now (from /proc, whatever any daemon says).
    func beams(of release: String, onHost number: Int) throws -> [Int32] {
        let (_, listing) = try runCommand("/usr/bin/ip", ["netns", "pids", "\(prefix)-h\(number)"])
        return listing.split(whereSeparator: \.isNewline).compactMap { Int32($0) }.filter { pid in
            let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            let arguments = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            let words = arguments.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return command.hasPrefix("beam") && words.contains { $0 == "\(release)@host\(number)" || $0 == release }
        }
    }

    /// Kills host `number`'s sshd (the listener and its sessions) with SIGKILL; with `everything`, every process
    /// on the host, its releases included, as a reboot would.
    func kill(onHost number: Int, everything: Bool = false) throws {
        let (_, listing) = try runCommand("/usr/bin/ip", ["netns", "pids", "\(prefix)-h\(number)"])
        for pid in listing.split(whereSeparator: \.isNewline).compactMap({ Int32($0) }) {
            let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            if everything || command.hasPrefix("sshd") { Glibc.kill(pid, SIGKILL) }
        }
    }

    /// Starts host `number`'s sshd again, with the same key, name and file system.
    func startSSHD(onHost number: Int) throws {
        let (status, output) = try runCommand("/bin/bash", [Self.script, "sshd", prefix, "\(number)", directory.path])
        guard status == 0 else { throw FixtureError("could not start the sshd of host \(number): \(output)") }
    }

    /// A listener on host `number`'s address (or `loopback`, its 127.0.0.1) and `port` that accepts every
    /// connection and writes `reply` to it (nothing when nil), then keeps it open: a port that speaks the wrong
    /// protocol, or none.
    func serve(onHost number: Int, port: UInt16, loopback: Bool = false, reply: String?, log: String) throws -> TestProcess {
        let program = """
            import socket, threading
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("\(loopback ? "127.0.0.1" : address(number))", \(port))); s.listen(64)
            held = []
            while True:
                c, _ = s.accept(); held.append(c)
                \(reply.map { "c.sendall(\($0.debugDescription).encode())" } ?? "pass")
            """
        let process = try TestProcess(
            "/usr/bin/ip", ["netns", "exec", "\(prefix)-h\(number)", "python3", "-c", program], logPath: log,
            name: "listener")
        let (_, _) = try run(onHost: number, "for i in $(seq 200); do ss -ltn 'sport = :\(port)' | grep -q LISTEN && exit 0; sleep 0.02; done; exit 1")
        return process
    }

    /// Runs `command` in host `number`'s network namespace.
    func run(onHost number: Int, _ command: String) throws -> (status: Int32, output: String) {
        try runCommand("/usr/bin/ip", ["netns", "exec", "\(prefix)-h\(number)", "/bin/sh", "-c", command])
    }

    /// Runs `command` in host `number`'s mount namespace (where its sshd and releases see their file system),
    /// and returns its output; throws when it fails.
    @discardableResult
    func inMountNamespace(ofHost number: Int, _ command: String) throws -> String {
        let pid = try String(contentsOfFile: directory.file("host\(number)/sshd.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let (status, output) = try runCommand("/usr/bin/nsenter", ["-t", pid, "-m", "/bin/sh", "-c", command])
        guard status == 0 else { throw FixtureError("on host \(number): \(command): \(output)") }
        return output
    }

    /// Kills every process in the namespaces and deletes them.
    func tearDown() {
        guard !tornDown else { return }
        tornDown = true
        _ = try? runCommand("/bin/bash", [Self.script, "down", prefix])
        directory.remove()
    }
}
