import Foundation
import Testing

/// The `controlnode` executable built beside the test bundle.
func controlnodeExecutable() -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return bundle.appendingPathComponent("controlnode").path
}

@Suite("controlnode commands that need no daemon")
struct CommandLineTests {
    @Test("check-config: a valid file passes; an error names file, line and key, exit 2")
    func checkConfig() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-cli")
        defer { directory.remove() }
        try directory.write("cookie", "secret-cookie\n", mode: 0o600)
        try directory.write("id_ed25519", "not really a key\n", mode: 0o600)
        try directory.write("controlnode.toml", """
            [hosts.web1]
            address = "127.0.0.1"
            user = "deploy"
            identity_file = "\(directory.file("id_ed25519"))"

            [releases.service_app]
            base_path = "/opt/service_app"
            cookie_file = "\(directory.file("cookie"))"
            hosts = ["web1"]
            """)
        let good = try await offload { try runCommand(controlnodeExecutable(), ["check-config", directory.file("controlnode.toml")]) }
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("valid: 1 hosts, 1 releases, 1 (release, host) pairs"))
        #expect(!good.output.contains("secret-cookie"))

        try directory.write("bad.toml", """
            [releases.service_app]
            base_path = "/opt/service_app"
            cookie_file = "\(directory.file("cookie"))"
            hosts = ["nowhere"]
            """)
        let bad = try await offload { try runCommand(controlnodeExecutable(), ["check-config", directory.file("bad.toml")]) }
        #expect(bad.status == 2)
        #expect(bad.output.contains("bad.toml:4"))
        #expect(bad.output.contains("nowhere"))
        #expect(bad.output.split(separator: "\n").count == 1)
    }

    @Test("registry add and list; a corrupt tarball is refused in one line")
    func registry() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-cli")
        defer { directory.remove() }
        let registry = directory.file("registry")
        let tarball = try await ReleaseFixture.tarball("0.1.0")
        let added = try await offload { try runCommand(controlnodeExecutable(), ["registry", "add", tarball, "--registry", registry]) }
        #expect(added.status == 0, "\(added.output)")
        #expect(added.output.hasPrefix("stored service_app 0.1.0 (sha256 "))
        let listed = try await offload { try runCommand(controlnodeExecutable(), ["registry", "list", "--json", "--registry", registry]) }
        #expect(listed.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]
        #expect(json?.first?["release"] as? String == "service_app")
        #expect(json?.first?["versions"] as? [String] == ["0.1.0"])

        try directory.write("service_app-0.3.0.tar.gz", "this is not a tarball")
        let refused = try await offload {
            try runCommand(controlnodeExecutable(), ["registry", "add", directory.file("service_app-0.3.0.tar.gz"), "--registry", registry])
        }
        #expect(refused.status == 2)
        #expect(refused.output.contains("service_app-0.3.0.tar.gz"))
        #expect(refused.output.split(separator: "\n").count == 1)
    }
}
