import ArgumentParser
import Logging
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// `controlnode probe`: reach one release's node through SSH, as the supervisor does, and report it.
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find a release's node in the host's EPMD over SSH, connect to it as a hidden node and report it.",
        discussion: """
            Everything goes through one SSH connection: EPMD and the node's distribution port are reached \
            through direct-tcpip channels, so neither needs to listen beyond the host's loopback. \
            With --watch, stays connected and reports when the node goes down.
            """
    )

    @Argument(help: "The node's name without the host part (its EPMD name), such as service_app.")
    var node: String

    @Option(help: "The host's address or name.") var address: String
    @Option(help: "The host's SSH port.") var port: UInt16 = 22
    @Option(help: "The user to log in as.") var user: String
    @Option(help: "A private key file; without it the ssh-agent at SSH_AUTH_SOCK is used.") var identity: String?
    @Option(help: "The known_hosts file.") var knownHosts: String = "/etc/controlnode/known_hosts"
    @Option(help: "strict, accept-new or off.") var hostKeyPolicy: String = "strict"
    @Option(help: "The host's EPMD port.") var epmdPort: UInt16 = 4369
    @Option(help: "A file holding the release cookie.") var cookieFile: String
    @Option(help: "The host part of the node name (default: the host's short name).") var nodeHost: String?
    @Flag(help: "Stay connected and report when the node goes down.") var watch = false

    func run() async throws {
        guard let policy = HostKeyPolicy(rawValue: hostKeyPolicy) else {
            throw ValidationError("--host-key-policy must be strict, accept-new or off")
        }
        let settings = SSHSettings(
            address: address, port: port, user: user,
            authentication: identity.map { .keyFile(path: $0) } ?? .agent(),
            knownHostsPath: knownHosts, hostKeyPolicy: policy)
        let clock = ContinuousClock()
        let started = clock.now
        func stamp() -> String { "[\(formatted(clock.now - started))]" }

        let ssh = try await SSHConnection.connect(settings, logger: Logger(label: "controlnode.probe"))
        line("\(stamp()) ssh \(settings.endpoint) connected (\(ssh.negotiatedMethods))")
        let epmdPort = self.epmdPort
        let epmd = EPMDClient(host: address) { try await ssh.openChannel(host: "127.0.0.1", port: epmdPort) }
        guard let info = try await epmd.lookup(node) else {
            let names = try await epmd.names().keys.sorted()
            line("\(stamp()) \(node) is not registered in EPMD on \(address) (registered: \(names.joined(separator: ", ")))")
            throw ExitCode(3)
        }
        line("\(stamp()) epmd: \(node) listens on port \(info.port)")
        var host = nodeHost ?? ""
        if host.isEmpty { host = try await ssh.execute("hostname -s").stdoutText.trimmingCharacters() }
        let peer = try NodeName(alive: node, host: host)
        let cookie = try readCookie(cookieFile)
        let channel = try await ssh.openChannel(host: "127.0.0.1", port: info.port)
        let connection = try await DistributionConnection.connect(
            over: channel, to: peer, configuration: DistributionConfiguration(cookie: cookie, tickTimeout: .seconds(15)))
        line("\(stamp()) connected to \(peer) as hidden node \(connection.localName)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await connection.run() }
            let osPid = try await connection.rpc("os", "getpid")
            let otp = try await connection.rpc("erlang", "system_info", ["otp_release"])
            line("\(stamp()) node \(peer): os pid \(osPid.stringValue ?? "\(osPid)"), OTP \(otp.stringValue ?? "\(otp)")")
            if watch {
                line("\(stamp()) watching \(peer); stop with Ctrl-C")
                for await event in connection.events {
                    if case .nodedown(let reason) = event {
                        line("\(stamp()) nodedown \(peer): \(reason)")
                        break
                    }
                }
            }
            await connection.close()
            group.cancelAll()
        }
        await ssh.close()
    }

    private func readCookie(_ path: String) throws -> Cookie {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("cannot read the cookie file \(path): errno \(errno)") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &bytes, bytes.count)
        guard count > 0 else { throw ValidationError("the cookie file \(path) is empty") }
        return Cookie(String(decoding: bytes[0..<count], as: UTF8.self).trimmingCharacters())
    }
}

/// Milliseconds with three decimals, for the probe's time stamps.
func formatted(_ duration: Duration) -> String {
    let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    let millis = Double(micros) / 1000
    return "\(Int(millis)).\(String(Int(micros % 1000)).leftPadded(3)) ms"
}

extension String {
    func trimmingCharacters() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }

    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
