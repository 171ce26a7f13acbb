import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("TCP stream")
struct TCPStreamTests {
    @Test("bytes written on one end are read on the other, including large writes")
    func transfer() async throws {
        let (client, server) = try await connectedTCPPair()
        try await client.write(Array("hello".utf8))
        #expect(try await server.read(upTo: 100) == Array("hello".utf8))

        let large = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        async let sent: Void = client.write(large)
        var received: [UInt8] = []
        while received.count < large.count {
            let chunk = try await server.read(upTo: 65536)
            if chunk.isEmpty { break }
            received += chunk
        }
        try await sent
        #expect(received == large)
        await client.close()
        #expect(try await server.read(upTo: 10) == [])
        await server.close()
    }

    @Test("close() ends a pending read with end of stream")
    func closeEndsPendingRead() async throws {
        let (client, server) = try await connectedTCPPair()
        let pending = Task { try await client.read(upTo: 10) }
        try await Task.sleep(for: .milliseconds(50))
        await client.close()
        #expect(try await pending.value == [])
        await server.close()
    }

    @Test("a pending read is cancellable")
    func cancellableRead() async throws {
        let (client, server) = try await connectedTCPPair()
        let pending = Task { try await client.read(upTo: 10) }
        try await Task.sleep(for: .milliseconds(50))
        pending.cancel()
        await #expect(throws: CancellationError.self) { try await pending.value }
        // The stream still works after a cancelled read.
        try await server.write([1, 2, 3])
        #expect(try await client.read(upTo: 10) == [1, 2, 3])
        await client.close()
        await server.close()
    }

    @Test("a connection refused is a TCPConnectError")
    func refused() async throws {
        let port = try freeLoopbackPort()
        await #expect(throws: TCPConnectError.self) { try await TCPStream.connect(host: "127.0.0.1", port: port) }
    }
}
