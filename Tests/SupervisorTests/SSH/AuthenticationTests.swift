import Foundation
import ReleaseSupervisor
import Testing

@Suite("Authentication against a real sshd")
struct AuthenticationTests {
    @Test("an ecdsa key file")
    func ecdsaKey() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let key = server.directory.file("id_ecdsa")
        try await offload { try SSHServerFixture.keygen(type: "ecdsa", path: key) }
        try server.authorize(publicKeyPath: key + ".pub")
        let connection = try await server.connect(server.settings(authentication: .keyFile(path: key)))
        #expect(try await connection.execute("true").succeeded)
        await connection.close()
    }

    @Test("a passphrase-protected key with its passphrase file; a wrong passphrase is a clear error")
    func passphrase() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let key = server.directory.file("id_protected")
        try await offload { try SSHServerFixture.keygen(type: "ed25519", path: key, passphrase: "correct horse") }
        try server.authorize(publicKeyPath: key + ".pub")
        try server.directory.write("passphrase", "correct horse\n")
        try server.directory.write("wrong", "battery staple\n")
        let connection = try await server.connect(
            server.settings(authentication: .keyFile(path: key, passphraseFile: server.directory.file("passphrase"))))
        #expect(try await connection.execute("true").succeeded)
        await connection.close()
        await #expect {
            _ = try await server.connect(
                server.settings(authentication: .keyFile(path: key, passphraseFile: server.directory.file("wrong"))))
        } throws: { error in
            guard let error = error as? SSHError else { return false }
            return error.code == .keyFileUnusable && error.detail.contains(key) && !error.description.contains("battery")
        }
    }

    @Test("a key the server does not know is refused, naming the key and the user")
    func unauthorizedKey() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let key = server.directory.file("id_stranger")
        try await offload { try SSHServerFixture.keygen(type: "ed25519", path: key) }
        await #expect {
            _ = try await server.connect(server.settings(authentication: .keyFile(path: key)))
        } throws: { error in
            guard let error = error as? SSHError else { return false }
            return error.code == .authenticationFailed && error.detail.contains(key) && error.detail.contains(server.user)
        }
    }

    @Test("ssh-agent identities; no agent is a clear error")
    func agent() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let socket = server.directory.file("agent.sock")
        let agent = try TestProcess(
            "/usr/bin/ssh-agent", ["-D", "-a", socket], logPath: server.directory.file("agent.log"), name: "ssh-agent")
        defer { agent.stop() }
        #expect(await eventually { FileManager.default.fileExists(atPath: socket) })
        let (status, output) = try await offload {
            try runCommand("/usr/bin/ssh-add", [server.clientKey], environment: ["SSH_AUTH_SOCK": socket])
        }
        try #require(status == 0, "ssh-add failed: \(output)")
        let connection = try await server.connect(server.settings(authentication: .agent(socketPath: socket)))
        #expect(try await connection.execute("echo via-agent").stdoutText == "via-agent\n")
        await connection.close()
        await #expect {
            _ = try await server.connect(server.settings(authentication: .agent(socketPath: server.directory.file("none.sock"))))
        } throws: { ($0 as? SSHError)?.code == .agentUnavailable }
    }
}
