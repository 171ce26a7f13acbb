import Foundation
import ReleaseSupervisor
import Testing

@Suite("SSH port forwarding against a real sshd")
struct ForwardTests {
    @Test("20 concurrent connections through a local forward, 1 MB each, byte for byte")
    func concurrentForwardedConnections() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let echo = try EchoServer()
        defer { echo.stop() }
        let connection = try await server.connect()
        let forward = try await connection.forwardLocalPort(to: "127.0.0.1", port: echo.port)
        #expect(forward.port != 0)
        #expect(forward.port != echo.port)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await offload {
                        let payload = patternBytes(count: 1 << 20, seed: UInt64(index + 1))
                        let fd = try connectLoopback(port: forward.port)
                        defer { close(fd) }
                        return exchange(fd, payload: payload) == payload
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 20)
        #expect(results.allSatisfy { $0 })
        forward.close()
        await connection.close()
    }

    @Test("a refused target closes the local client's connection instead of hanging")
    func refusedTarget() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let closedPort = try freeLoopbackPort()
        let connection = try await server.connect()
        let forward = try await connection.forwardLocalPort(to: "127.0.0.1", port: closedPort)
        let started = ContinuousClock.now
        let received = try await offload {
            let fd = try connectLoopback(port: forward.port)
            defer { close(fd) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var byte: UInt8 = 0
            return read(fd, &byte, 1)
        }
        #expect(received == 0)
        #expect(ContinuousClock.now - started < .seconds(5))
        // The refusal does not hurt the connection.
        #expect(try await connection.execute("true").succeeded)
        await #expect(throws: SSHError.self) { _ = try await connection.openChannel(host: "127.0.0.1", port: closedPort) }
        forward.close()
        await connection.close()
    }

    @Test("a direct channel is a duplex byte stream, with half-close")
    func directChannel() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let echo = try EchoServer()
        defer { echo.stop() }
        let connection = try await server.connect()
        let channel = try await connection.openChannel(host: "127.0.0.1", port: echo.port)
        let payload = patternBytes(count: 3 << 20, seed: 7)
        async let sent: Void = channel.write(payload)
        var received: [UInt8] = []
        while received.count < payload.count {
            let chunk = try await channel.read(upTo: 1 << 16)
            if chunk.isEmpty { break }
            received += chunk
        }
        try await sent
        #expect(received == payload)
        await channel.close()
        #expect(try await channel.read(upTo: 10).isEmpty)
        await connection.close()
    }

    @Test("sshd serving the connection killed: reported dead at once, exactly once, to every waiter")
    func serverKilled() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let echo = try EchoServer()
        defer { echo.stop() }
        let connection = try await server.connect(server.settings(keepalive: .seconds(1), maxMissed: 2))
        let forward = try await connection.forwardLocalPort(to: "127.0.0.1", port: echo.port)
        let channel = try await connection.openChannel(host: "127.0.0.1", port: echo.port)
        async let first = connection.ended()
        async let second = connection.ended()
        let started = ContinuousClock.now
        #expect(await server.killSessions())
        let (a, b) = await (first, second)
        #expect(a.code == .connectionLost)
        #expect(b.code == .connectionLost)
        #expect(a.description == b.description)
        #expect(ContinuousClock.now - started < .seconds(2))
        await #expect(throws: SSHError.self) { _ = try await channel.read(upTo: 10) }
        await #expect(throws: SSHError.self) { _ = try await connection.execute("true") }
        forward.close()
    }

    @Test("a server that goes silent is declared dead within keepalive interval × max missed")
    func serverSilent() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let echo = try EchoServer()
        defer { echo.stop() }
        let connection = try await server.connect(server.settings(keepalive: .seconds(1), maxMissed: 2))
        let forward = try await connection.forwardLocalPort(to: "127.0.0.1", port: echo.port)
        let stopped = descendants(of: server.sshd!.pid)
        #expect(!stopped.isEmpty)
        for pid in stopped { kill(pid, SIGSTOP) }
        defer { for pid in stopped { kill(pid, SIGCONT) } }
        let started = ContinuousClock.now
        let reason = await connection.ended()
        let elapsed = ContinuousClock.now - started
        #expect(reason.code == .connectionLost)
        #expect(reason.detail.contains("no traffic"))
        // Dead after 2 silent seconds; the first probe may go out up to one interval late.
        #expect(elapsed >= .milliseconds(1500))
        #expect(elapsed < .seconds(4))
        forward.close()
    }
}

@Suite("SSH keepalive")
struct KeepaliveTests {
    @Test("an idle connection, with and without a forward, stays up across many keepalive intervals")
    func idleConnectionSurvives() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let echo = try EchoServer()
        defer { echo.stop() }
        let plain = try await server.connect(server.settings(keepalive: .milliseconds(300), maxMissed: 2))
        let forwarding = try await server.connect(server.settings(keepalive: .milliseconds(300), maxMissed: 2))
        let forward = try await forwarding.forwardLocalPort(to: "127.0.0.1", port: echo.port)
        // Use the forward once, so its connection's channel comes and goes.
        let payload = patternBytes(count: 1000, seed: 9)
        let echoed = try await offload {
            let fd = try connectLoopback(port: forward.port)
            defer { close(fd) }
            return exchange(fd, payload: payload)
        }
        #expect(echoed == payload)
        try await Task.sleep(for: .seconds(3))
        #expect(plain.endReason == nil)
        #expect(forwarding.endReason == nil)
        #expect(try await plain.execute("true").succeeded)
        #expect(try await forwarding.execute("true").succeeded)
        forward.close()
        await plain.close()
        await forwarding.close()
    }
}

@Suite("SSH channel opens")
struct ChannelOpenTests {
    @Test("forwards closed while their connections' channels are still opening leave the connection usable")
    func closedWhileOpening() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let echo = try EchoServer()
        defer { echo.stop() }
        let connection = try await server.connect(server.settings(keepalive: .milliseconds(300), maxMissed: 3))
        for _ in 0..<20 {
            let forward = try await connection.forwardLocalPort(to: "127.0.0.1", port: echo.port)
            let clients = try (0..<3).map { _ in try connectLoopback(port: forward.port) }
            forward.close()
            for client in clients { close(client) }
        }
        // Channel opens still work, and keepalive probes (channel opens too) keep the connection alive.
        #expect(try await connection.execute("true").succeeded)
        let channel = try await connection.openChannel(host: "127.0.0.1", port: echo.port)
        await channel.close()
        try await Task.sleep(for: .seconds(2))
        #expect(connection.endReason == nil)
        await connection.close()
    }
}
