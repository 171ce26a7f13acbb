import Foundation
import ReleaseSupervisor
import Testing

/// The path the release actors will take: the host's EPMD and the node's distribution port reached
/// through the one SSH connection to the host.
@Suite("Erlang distribution through SSH")
struct SSHDistributionTests {
    @Test("EPMD over an SSH channel, a hidden-node connection over another, RPC, then kill -9 → nodedown")
    func distributionOverChannel() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let node = try await ErlangNodeFixture("over_ssh")
        defer { node.stop() }
        let ssh = try await server.connect()
        let epmdPort = node.epmdPort
        let epmd = EPMDClient(host: "127.0.0.1") { try await ssh.openChannel(host: "127.0.0.1", port: epmdPort) }
        let names = try await epmd.names()
        #expect(names[node.nodeName.alive] != nil)
        let info = try #require(try await epmd.lookup(node.nodeName.alive))
        let channel = try await ssh.openChannel(host: "127.0.0.1", port: info.port)
        let connection = try await DistributionConnection.connect(
            over: channel, to: node.nodeName,
            configuration: DistributionConfiguration(cookie: Cookie(node.cookie), tickTimeout: .seconds(15)))
        let running = Task { await connection.run() }
        defer { running.cancel() }
        #expect(try await connection.rpc("erlang", "node") == .atom(node.nodeName.atom))
        let big = try await connection.rpc("lists", "seq", [1, 100_000])
        if case .list(let elements) = big { #expect(elements.count == 100_000) } else { Issue.record("not a list: \(big)") }

        let killed = ContinuousClock.now
        kill(node.node.pid, SIGKILL)
        var reason: NodeDownReason?
        for await event in connection.events {
            if case .nodedown(let why) = event {
                reason = why
                break
            }
        }
        #expect(reason != nil)
        #expect(ContinuousClock.now - killed < .milliseconds(500))
        // The SSH connection outlives the node.
        #expect(try await ssh.execute("true").succeeded)
        await ssh.close()
    }

    @Test("a distribution connection through a local forward (TCP to 127.0.0.1:<forward>)")
    func distributionThroughForward() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let node = try await ErlangNodeFixture("via_forward")
        defer { node.stop() }
        let ssh = try await server.connect()
        let forward = try await ssh.forwardLocalPort(to: "127.0.0.1", port: try await node.distributionPort())
        let stream = try await TCPStream.connect(host: "127.0.0.1", port: forward.port)
        let result = try await DistributionConnection.withConnection(
            over: stream, to: node.nodeName, configuration: DistributionConfiguration(cookie: Cookie(node.cookie))
        ) { connection in
            try await connection.rpc("erlang", "node")
        }
        #expect(result == .atom(node.nodeName.atom))
        forward.close()
        await ssh.close()
    }
}
