import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("Distribution connection against real nodes")
struct DistributionConnectionTests {
    @Test("handshake with a short-name node, then rpc erlang:node/0")
    func shortNames() async throws {
        let fixture = try await ErlangNodeFixture("short")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        #expect(!connection.localName.usesLongNames)
        try await running(connection) { _ in
            let node = try await connection.rpc("erlang", "node")
            #expect(node == .atom(fixture.nodeName.atom))
        }
    }

    @Test("handshake with a long-name node, then rpc erlang:node/0")
    func longNames() async throws {
        let fixture = try await ErlangNodeFixture("long", longNames: true)
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        #expect(connection.localName.usesLongNames)
        try await running(connection) { _ in
            let node = try await connection.rpc("erlang", "node")
            #expect(node == .atom(fixture.nodeName.atom))
        }
    }
}
