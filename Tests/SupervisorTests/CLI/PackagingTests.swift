import Foundation
import Testing

@Suite("packaging/systemd")
struct PackagingTests {
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }

    @Test("systemd-analyze verify prints nothing for the unit",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"))
    func unitVerifies() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-unit")
        defer { directory.remove() }
        // The unit names the installed binary; point it at the one just built so verify can check it.
        let unit = try String(contentsOfFile: "\(Self.repository)/packaging/systemd/controlnode.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/controlnode", with: controlnodeExecutable())
        try directory.write("controlnode.service", unit, mode: 0o644)
        let (status, output) = try await offload {
            try runCommand("/usr/bin/systemd-analyze", ["verify", directory.file("controlnode.service")])
        }
        #expect(status == 0)
        #expect(output.isEmpty, "\(output)")
        for setting in ["Type=notify", "WatchdogSec=", "ExecReload=", "Restart=on-failure", "User=controlnode",
            "ProtectSystem=strict", "NoNewPrivileges=yes", "RestrictAddressFamilies=", "MemoryMax=", "TasksMax=",
            "LimitCORE=0"] {
            #expect(unit.contains(setting), "missing \(setting)")
        }
    }

    @Test("the example alert rules pass promtool check rules",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"),
            "needs promtool, from Debian's prometheus package (scripts/install-deps.sh installs it)"))
    func alertRulesCheck() async throws {
        let rules = "\(Self.repository)/packaging/prometheus/controlnode-alerts.yml"
        let (status, output) = try await offload { try runCommand("/usr/bin/promtool", ["check", "rules", rules]) }
        #expect(status == 0, "\(output)")
        #expect(output.contains("SUCCESS: 5 rules found"), "\(output)")
        let text = try String(contentsOfFile: rules, encoding: .utf8)
        for metric in ["controlnode_release_up", "controlnode_release_restarts_total", "controlnode_node_atoms_limit",
            "controlnode_deploys_total"] {
            #expect(text.contains(metric), "no rule on \(metric)")
        }
    }

    @Test("the example configuration parses (its secret files aside)")
    func exampleParses() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-example")
        defer { directory.remove() }
        try directory.write("cookie", "cookie\n", mode: 0o600)
        try directory.write("id_ed25519", "key\n", mode: 0o600)
        let example = try String(contentsOfFile: "\(Self.repository)/packaging/systemd/controlnode.toml.example", encoding: .utf8)
            .replacingOccurrences(of: "/etc/controlnode/id_ed25519", with: directory.file("id_ed25519"))
            .replacingOccurrences(of: "/etc/controlnode/service_app.cookie", with: directory.file("cookie"))
        try directory.write("controlnode.toml", example)
        let (status, output) = try await offload {
            try runCommand(controlnodeExecutable(), ["check-config", directory.file("controlnode.toml")])
        }
        #expect(status == 0, "\(output)")
    }
}
