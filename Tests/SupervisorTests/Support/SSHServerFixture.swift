import Foundation
import Logging
import ReleaseSupervisor

/// A real OpenSSH server on 127.0.0.1 and a free port, with generated host and client keys, in a temporary
/// directory; `stop()` ends it by pid and removes the directory.
final class SSHServerFixture: @unchecked Sendable {
    // @unchecked: `sshd` is replaced only by `restart()`, which tests call from one task at a time.
    let directory: TemporaryDirectory
    let port: UInt16
    private(set) var sshd: TestProcess?
    let user: String
    let hostKeyLine: String

    var clientKey: String { directory.file("id_ed25519") }
    var knownHosts: String { directory.file("known_hosts") }
    var hostKeyPublic: String { directory.file("host_ed25519.pub") }

    /// Generates keys, writes sshd_config and starts sshd; `extraConfig` lines are appended to the config.
    static func start(extraConfig: [String] = []) async throws -> SSHServerFixture {
        try await offload { try SSHServerFixture(extraConfig: extraConfig) }
    }

    private init(extraConfig: [String]) throws {
        directory = try TemporaryDirectory(prefix: "controlnode-sshd")
        port = try freeLoopbackPort()
        user = ProcessInfo.processInfo.environment["USER"] ?? String(cString: getpwuid(getuid())!.pointee.pw_name)
        try Self.keygen(type: "ed25519", path: directory.file("host_ed25519"))
        try Self.keygen(type: "ed25519", path: directory.file("id_ed25519"))
        let clientPublic = try String(contentsOfFile: directory.file("id_ed25519.pub"), encoding: .utf8)
        try directory.write("authorized_keys", clientPublic)
        let hostPublic = try String(contentsOfFile: directory.file("host_ed25519.pub"), encoding: .utf8)
        let fields = hostPublic.split(separator: " ")
        hostKeyLine = "[127.0.0.1]:\(port) \(fields[0]) \(fields[1])\n"
        try directory.write("known_hosts", hostKeyLine)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let config = [
            "ListenAddress 127.0.0.1:\(port)",
            "HostKey \(directory.file("host_ed25519"))",
            "PidFile \(directory.file("sshd.pid"))",
            "AuthorizedKeysFile \(directory.file("authorized_keys"))",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "AllowTcpForwarding yes",
            "MaxStartups 200",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
        ] + extraConfig
        try directory.write("sshd_config", config.joined(separator: "\n") + "\n")
        try start()
    }

    /// Adds `publicKeyPath`'s key to authorized_keys.
    func authorize(publicKeyPath: String) throws {
        let key = try String(contentsOfFile: publicKeyPath, encoding: .utf8)
        let existing = try String(contentsOfFile: directory.file("authorized_keys"), encoding: .utf8)
        try directory.write("authorized_keys", existing + key)
    }

    /// Starts sshd (again) on the same port and waits until it accepts connections.
    func start() throws {
        let process = try TestProcess(
            "/usr/sbin/sshd", ["-D", "-e", "-f", directory.file("sshd_config")],
            logPath: directory.file("sshd-\(Date().timeIntervalSince1970).log"), name: "sshd")
        sshd = process
        let deadline = Date().addingTimeInterval(10)
        while !isListening(port: port) {
            guard process.isRunning, Date() < deadline else {
                throw FixtureError("sshd did not start on port \(port): \(process.log)")
            }
            usleep(10_000)
        }
    }

    /// Settings for connecting to this server with the generated client key and known_hosts.
    func settings(
        authentication: SSHAuthentication? = nil, policy: HostKeyPolicy = .strict, knownHosts: String? = nil,
        keepalive: Duration = .seconds(5), maxMissed: Int = 3, connectTimeout: Duration = .seconds(10)
    ) -> SSHSettings {
        SSHSettings(
            address: "127.0.0.1", port: port, user: user,
            authentication: authentication ?? .keyFile(path: clientKey),
            knownHostsPath: knownHosts ?? self.knownHosts, hostKeyPolicy: policy, connectTimeout: connectTimeout,
            keepaliveInterval: keepalive, keepaliveMaxMissed: maxMissed)
    }

    /// Connects with `settings()` or the given settings.
    func connect(_ settings: SSHSettings? = nil) async throws -> SSHConnection {
        try await SSHConnection.connect(settings ?? self.settings(), logger: Logger(label: "test.ssh"))
    }

    /// Pids of sshd's per-connection children (the processes serving sessions), found through /proc.
    func sessionProcesses() -> [Int32] {
        guard let parent = sshd?.pid else { return [] }
        return childPids(of: parent)
    }

    /// Kills every process serving a session, again until none is left, since a session's process may fork while
    /// the first are killed; returns whether none was left within `timeout`.
    func killSessions(timeout: Duration = .seconds(10)) async -> Bool {
        guard let listener = sshd?.pid else { return false }
        return await eventually(timeout: timeout) {
            let serving = descendants(of: listener)
            for pid in serving { kill(pid, SIGKILL) }
            return serving.isEmpty
        }
    }

    func stop() {
        sshd?.stop()
        directory.remove()
    }

    static func keygen(type: String, path: String, passphrase: String = "") throws {
        let (status, output) = try runCommand(
            "/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", "controlnode-test", "-f", path])
        guard status == 0 else { throw FixtureError("ssh-keygen failed: \(output)") }
    }
}

/// Every process below `root` (children, grandchildren, ...).
func descendants(of root: Int32) -> [Int32] {
    var result: [Int32] = []
    var frontier = [root]
    while let next = frontier.popLast() {
        let children = childPids(of: next)
        result += children
        frontier += children
    }
    return result
}

/// The pids whose parent is `parent`, from /proc.
func childPids(of parent: Int32) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry),
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == parent ? pid : nil
    }
}
