import Foundation
import Logging
import ReleaseSupervisor
import Testing

@Suite("Host key verification against a real sshd")
struct HostKeyTests {
    @Test("strict: an unknown host is refused, naming host, port, key type and fingerprint")
    func strictUnknown() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        try server.directory.write("empty_known_hosts", "")
        let settings = server.settings(knownHosts: server.directory.file("empty_known_hosts"))
        await #expect {
            _ = try await server.connect(settings)
        } throws: { error in
            guard let error = error as? SSHError else { return false }
            return error.code == .hostKeyUnknown && error.description.contains("127.0.0.1:\(server.port)")
                && error.detail.contains("ssh-ed25519") && error.detail.contains("SHA256:")
        }
    }

    @Test("accept-new: an unknown key is appended, then accepted under strict")
    func acceptNew() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let file = server.directory.file("new_known_hosts")
        let first = try await server.connect(server.settings(policy: .acceptNew, knownHosts: file))
        await first.close()
        let contents = try String(contentsOfFile: file, encoding: .utf8)
        #expect(contents == server.hostKeyLine)
        let second = try await server.connect(server.settings(policy: .strict, knownHosts: file))
        #expect(try await second.execute("true").succeeded)
        await second.close()
    }

    @Test("a changed key is refused under strict and accept-new, with both fingerprints")
    func changedKey() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let impostor = server.directory.file("impostor")
        try await offload { try SSHServerFixture.keygen(type: "ed25519", path: impostor) }
        let fields = try String(contentsOfFile: impostor + ".pub", encoding: .utf8).split(separator: " ")
        try server.directory.write("changed_known_hosts", "[127.0.0.1]:\(server.port) \(fields[0]) \(fields[1])\n")
        for policy in [HostKeyPolicy.strict, .acceptNew] {
            await #expect {
                _ = try await server.connect(server.settings(policy: policy, knownHosts: server.directory.file("changed_known_hosts")))
            } throws: { error in
                guard let error = error as? SSHError else { return false }
                return error.code == .hostKeyChanged && error.detail.components(separatedBy: "SHA256:").count == 3
            }
        }
        // accept-new did not overwrite the old line.
        #expect(try String(contentsOfFile: server.directory.file("changed_known_hosts"), encoding: .utf8).contains(String(fields[1])))
    }

    @Test("off: connects with a wrong known_hosts and warns at every connect")
    func policyOff() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        try server.directory.write("empty_known_hosts", "")
        let recorder = LogRecorder()
        let settings = server.settings(policy: .off, knownHosts: server.directory.file("empty_known_hosts"))
        for _ in 0..<2 {
            let connection = try await SSHConnection.connect(settings, logger: recorder.logger())
            await connection.close()
        }
        #expect(recorder.messages.filter { $0.hasPrefix("warning") && $0.contains("not verified") }.count == 2)
    }

    @Test("a hashed known_hosts entry (ssh-keygen -H) is honoured")
    func hashedEntry() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let (status, output) = try await offload { try runCommand("/usr/bin/ssh-keygen", ["-H", "-f", server.knownHosts]) }
        try #require(status == 0, "ssh-keygen -H failed: \(output)")
        #expect(try String(contentsOfFile: server.knownHosts, encoding: .utf8).hasPrefix("|1|"))
        let connection = try await server.connect()
        await connection.close()
    }

    @Test("a revoked key is refused")
    func revoked() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        try server.directory.write("revoked_known_hosts", "@revoked " + server.hostKeyLine + server.hostKeyLine)
        await #expect {
            _ = try await server.connect(server.settings(knownHosts: server.directory.file("revoked_known_hosts")))
        } throws: { ($0 as? SSHError)?.code == .hostKeyRevoked }
    }
}
