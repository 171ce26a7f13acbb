import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("TCP stream")
struct TCPStreamTests {
    /// A connected pair: a client made by `TCPStream.connect` and the server end it was accepted as.
    private func connectedPair() async throws -> (client: TCPStream, server: TCPStream) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                guard bind(listener, raw, length) == 0, listen(listener, 1) == 0,
                    getsockname(listener, raw, &length) == 0
                else { throw FixtureError("listener setup failed: errno \(errno)") }
            }
        }
        let client = try await TCPStream.connect(host: "127.0.0.1", port: UInt16(bigEndian: address.sin_port))
        let accepted = accept(listener, nil, nil)
        guard accepted >= 0 else { throw FixtureError("accept failed: errno \(errno)") }
        return (client, try TCPStream(adopting: accepted))
    }

    @Test("bytes written on one end are read on the other, including large writes")
    func transfer() async throws {
        let (client, server) = try await connectedPair()
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
        let (client, server) = try await connectedPair()
        let pending = Task { try await client.read(upTo: 10) }
        try await Task.sleep(for: .milliseconds(50))
        await client.close()
        #expect(try await pending.value == [])
        await server.close()
    }

    @Test("a pending read is cancellable")
    func cancellableRead() async throws {
        let (client, server) = try await connectedPair()
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
