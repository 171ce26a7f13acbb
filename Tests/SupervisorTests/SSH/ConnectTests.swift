import Foundation
import ReleaseSupervisor
import Testing

@Suite("Connecting: refused, silent and IPv6 servers")
struct ConnectTests {
    @Test("a closed port is a connect error naming the host and port")
    func refused() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        var settings = server.settings()
        settings.port = try freeLoopbackPort()
        await #expect {
            _ = try await server.connect(settings)
        } throws: { error in
            guard let error = error as? SSHError else { return false }
            return error.code == .connectFailed && error.detail.contains("\(settings.port)")
        }
    }

    @Test("a server that accepts TCP but never speaks SSH times out instead of hanging")
    func silentServer() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let (listener, port) = try loopbackListener(backlog: 4)
        defer { close(listener) }
        var settings = server.settings(connectTimeout: .seconds(1))
        settings.port = port
        let started = ContinuousClock.now
        await #expect {
            _ = try await server.connect(settings)
        } throws: { ($0 as? SSHError)?.code == .handshakeFailed }
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    @Test("IPv6 loopback and a host name that resolves",
        .enabled(if: ipv6LoopbackAvailable(), "the machine has no IPv6 loopback address"))
    func ipv6AndNames() async throws {
        let port = try freeLoopbackPort()
        let server = try await SSHServerFixture.start(extraConfig: ["ListenAddress [::1]:\(port)"])
        defer { server.stop() }
        let fields = try String(contentsOfFile: server.hostKeyPublic, encoding: .utf8).split(separator: " ")
        try server.directory.write("v6_known_hosts", "[::1]:\(port),[localhost]:\(server.port) \(fields[0]) \(fields[1])\n")
        var settings = server.settings(knownHosts: server.directory.file("v6_known_hosts"))
        settings.address = "::1"
        settings.port = port
        let v6 = try await server.connect(settings)
        #expect(try await v6.execute("echo $SSH_CONNECTION").stdoutText.hasPrefix("::1 "))
        await v6.close()
        settings.address = "localhost"
        settings.port = server.port
        let named = try await server.connect(settings)
        #expect(try await named.execute("true").succeeded)
        await named.close()
    }
}

/// Whether ::1 can be bound on this machine.
func ipv6LoopbackAvailable() -> Bool {
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
    }
}
