import Foundation
import Logging
import ReleaseSupervisor
import Testing

@Suite("One SSH connection per host")
struct ConnectionPoolTests {
    @Test("concurrent callers share one connection; a dead one is replaced")
    func sharing() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let pool = SSHConnectionPool(logger: Logger(label: "test.pool"))
        let settings = server.settings()
        let connections = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<10 { group.addTask { ObjectIdentifier(try await pool.connection(for: settings)) } }
            return try await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(connections.count == 1)
        let first = try await pool.connection(for: settings)
        #expect(await server.killSessions())
        // The server hanging up is noticed at once, not at the next keepalive (5 s away).
        try #require(await eventually(timeout: .seconds(3)) { first.endReason != nil })
        let second = try await pool.connection(for: settings)
        #expect(second !== first)
        #expect(try await second.execute("true").succeeded)
        await pool.closeAll()
        #expect(second.endReason?.code == .closed)
    }
}
