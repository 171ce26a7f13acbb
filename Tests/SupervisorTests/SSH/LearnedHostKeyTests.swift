import Foundation
import Logging
import ReleaseSupervisor
import Testing

/// accept-new against a real sshd: what is refused, what is learned, where it goes, and what a pin overrides.
@Suite("Pinned and learned host keys against a real sshd")
struct LearnedHostKeyTests {
    /// An ed25519 public key that is not the server's, as `type base64`.
    static func impostorKey(in server: SSHServerFixture) async throws -> String {
        let path = server.directory.file("impostor-\(UInt32.random(in: 0...UInt32.max))")
        try await offload { try SSHServerFixture.keygen(type: "ed25519", path: path) }
        let fields = try String(contentsOfFile: path + ".pub", encoding: .utf8).split(separator: " ")
        return "\(fields[0]) \(fields[1])"
    }

    static func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test("a CRLF known_hosts pinning the host with another key: refused under accept-new, nothing written")
    func crlfPinRefused() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let impostor = try await Self.impostorKey(in: server)
        let pinned = "# written on Windows\r\n[127.0.0.1]:\(server.port) \(impostor)\r\n"
        try server.directory.write("crlf_known_hosts", pinned)
        let learned = server.directory.file("learned_known_hosts")
        // Both layouts: accept-new writing into the pinned file itself, and into a learned file beside it.
        for learnedPath in [nil, learned] {
            var settings = server.settings(policy: .acceptNew, knownHosts: server.directory.file("crlf_known_hosts"))
            settings.learnedKnownHostsPath = learnedPath
            await #expect {
                _ = try await server.connect(settings)
            } throws: { error in
                guard let error = error as? SSHError else { return false }
                return error.code == .hostKeyChanged
                    && error.detail.contains("\(server.directory.file("crlf_known_hosts")):2")
                    && error.detail.contains("ssh-keygen -R '[127.0.0.1]:\(server.port)'")
            }
            #expect(Self.contents(server.directory.file("crlf_known_hosts")) == pinned)
            #expect(Self.contents(learned) == nil)
        }
    }

    @Test("accept-new learns into the learned file, after a last line without newline; strict then accepts it")
    func learnsBesideThePins() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        try server.directory.write("pinned", "")
        let other = try await Self.impostorKey(in: server)
        try server.directory.write("learned", "web9.example \(other)")  // no trailing newline
        var settings = server.settings(policy: .acceptNew, knownHosts: server.directory.file("pinned"))
        settings.learnedKnownHostsPath = server.directory.file("learned")
        let first = try await server.connect(settings)
        await first.close()

        #expect(Self.contents(server.directory.file("pinned")) == "")
        let learned = try #require(Self.contents(server.directory.file("learned")))
        #expect(learned == "web9.example \(other)\n" + server.hostKeyLine)
        settings.hostKeyPolicy = .strict
        let second = try await server.connect(settings)
        #expect(try await second.execute("true").succeeded)
        await second.close()
    }

    @Test("a pinned key wins over a learned one, under accept-new and strict; the error names both files")
    func pinnedWins() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let impostor = try await Self.impostorKey(in: server)
        try server.directory.write("pinned", "# pins\n[127.0.0.1]:\(server.port) \(impostor)\n")
        try server.directory.write("learned", server.hostKeyLine)
        for policy in [HostKeyPolicy.acceptNew, .strict] {
            var settings = server.settings(policy: policy, knownHosts: server.directory.file("pinned"))
            settings.learnedKnownHostsPath = server.directory.file("learned")
            await #expect {
                _ = try await server.connect(settings)
            } throws: { error in
                guard let error = error as? SSHError else { return false }
                return error.code == .hostKeyChanged && error.detail.contains("\(server.directory.file("pinned")):2")
                    && error.detail.contains("\(server.directory.file("learned")):1")
                    && error.detail.contains("ssh-keygen -R")
                    && error.detail.components(separatedBy: "SHA256:").count == 3
            }
        }
        #expect(Self.contents(server.directory.file("learned")) == server.hostKeyLine)
    }

    @Test("a learned key that changed is refused too, with the command to forget it as the daemon's user")
    func learnedKeyChanged() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let impostor = try await Self.impostorKey(in: server)
        let learned = "[127.0.0.1]:\(server.port) \(impostor)\n"
        try server.directory.write("learned", learned)
        var settings = server.settings(policy: .acceptNew, knownHosts: server.directory.file("pinned"))
        settings.learnedKnownHostsPath = server.directory.file("learned")
        await #expect {
            _ = try await server.connect(settings)
        } throws: { error in
            guard let error = error as? SSHError else { return false }
            return error.code == .hostKeyChanged && error.detail.contains("\(server.directory.file("learned")):1")
                && error.detail.contains("runuser -u controlnode -- ssh-keygen -R '[127.0.0.1]:\(server.port)'")
        }
        #expect(Self.contents(server.directory.file("learned")) == learned)
        #expect(Self.contents(server.directory.file("pinned")) == nil)
    }

    @Test("several hosts learned at once, and one host by several connections at once: one line each")
    func concurrentLearning() async throws {
        var servers: [SSHServerFixture] = []
        defer { for server in servers { server.stop() } }
        for _ in 0..<4 { servers.append(try await SSHServerFixture.start()) }
        let directory = try TemporaryDirectory(prefix: "controlnode-learned")
        defer { directory.remove() }
        let learned = directory.file("known_hosts")
        let targets = servers + Array(repeating: servers[0], count: 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for server in targets {
                group.addTask {
                    var settings = server.settings(policy: .acceptNew, knownHosts: directory.file("pinned"))
                    settings.learnedKnownHostsPath = learned
                    let connection = try await server.connect(settings)
                    await connection.close()
                }
            }
            try await group.waitForAll()
        }
        let lines = try #require(Self.contents(learned)).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")
        #expect(Set(lines.dropLast().map { "\($0)\n" }) == Set(servers.map(\.hostKeyLine)))
        #expect(lines.count == servers.count + 1)
    }

    @Test("an upper-case host name matches lower-case entries, plain and hashed")
    func upperCaseNames() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let fields = server.hostKeyLine.split(separator: " ")
        try server.directory.write("names", "[localhost]:\(server.port) \(fields[1]) \(fields[2])")
        var settings = server.settings(policy: .strict, knownHosts: server.directory.file("names"))
        settings.address = "LocalHost"
        let plain = try await server.connect(settings)
        await plain.close()

        let (status, output) = try await offload {
            try runCommand("/usr/bin/ssh-keygen", ["-H", "-f", server.directory.file("names")])
        }
        try #require(status == 0, "ssh-keygen -H failed: \(output)")
        #expect(Self.contents(server.directory.file("names"))?.hasPrefix("|1|") == true)
        settings.address = "LOCALHOST"
        let hashed = try await server.connect(settings)
        await hashed.close()
    }
}
