import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("service_app release fixture", .serialized)
struct ReleaseFixtureTests {
    @Test("every version builds (or comes from the cache) as release tarballs with ERTS")
    func tarballsBuild() async throws {
        for version in ReleaseFixture.versions {
            let path = try await ReleaseFixture.tarball(version)
            #expect(path.hasSuffix("/service_app-\(version).tar.gz"))
            let (status, listing) = try runCommand("/bin/tar", ["-tzf", path])
            #expect(status == 0)
            let entries = Set(listing.split(separator: "\n").map(String.init))
            #expect(entries.contains("bin/service_app"))
            #expect(entries.contains("releases/\(version)/env.sh"))
            #expect(entries.contains { $0.hasPrefix("erts-") })
        }
        if let duration = await ReleaseFixture.buildDuration() {
            print("release fixture: built every version in \(duration)")
        }
    }

    @Test("0.1.0 starts as a daemon, registers in its EPMD, answers its health check over distribution, stops")
    func smoke() async throws {
        let release = try await LocalRelease(version: "0.1.0")
        defer { release.stop() }
        let start = ContinuousClock.now
        try await release.startDaemon()
        let port = try await release.waitUntilRegistered()
        print("release fixture: cold boot, daemon to registered in EPMD, \(ContinuousClock.now - start)")
        #expect(port > 0)
        #expect(try await release.epmdClient.names().keys.contains("service_app"))

        let connection = try await release.connect()
        try await running(connection) { _ in
            #expect(try await connection.rpc("Elixir.ServiceApp", "version") == .binary("0.1.0"))
            // The application may still be booting right after registration: wait for its health answer.
            let healthy = await eventually(timeout: .seconds(20), every: .milliseconds(50)) {
                (try? await connection.rpc("Elixir.ServiceApp.Health", "check", timeout: .seconds(2))) == .atom(.ok)
            }
            #expect(healthy, "health check never returned ok; log:\n\(release.logTail())")
            #expect(FileManager.default.createFile(atPath: release.root + "/tmp/unhealthy", contents: nil))
            #expect(try await connection.rpc("Elixir.ServiceApp.Health", "check") == .tuple("error", "unhealthy"))
            try FileManager.default.removeItem(atPath: release.root + "/tmp/unhealthy")
            #expect(try await connection.rpc("Elixir.ServiceApp.Health", "check") == .atom(.ok))
        }
        #expect(release.logTail().contains("service_app 0.1.0 started"))

        #expect(!release.processes().isEmpty)
        #expect(try await offload { release.stopNode() })
        let client = release.epmdClient
        let unregistered = try await eventually(timeout: .seconds(10)) { try await client.lookup("service_app") == nil }
        #expect(unregistered)
    }

    @Test("with SERVICE_APP_CRASH_AT_BOOT=1 the node does not stay up, and its log says why")
    func crashAtBoot() async throws {
        let release = try await LocalRelease(version: "0.2.0")
        defer { release.stop() }
        try await release.startDaemon(environment: ["SERVICE_APP_CRASH_AT_BOOT": "1"])
        let gone = await eventually(timeout: .seconds(30), every: .milliseconds(50)) {
            release.processes().isEmpty && release.logTail().contains("SERVICE_APP_CRASH_AT_BOOT")
        }
        #expect(gone, "the node is still up or did not log its crash:\n\(release.logTail())")
        #expect(FileManager.default.fileExists(atPath: release.root + "/tmp/erl_crash.dump"))
        let client = release.epmdClient
        let unregistered = try await eventually(timeout: .seconds(10)) { try await client.lookup("service_app") == nil }
        #expect(unregistered)
    }
}
