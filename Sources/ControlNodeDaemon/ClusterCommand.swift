import ArgumentParser
import Foundation

/// `controlnode cluster status [--json]`.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Show the cluster of control machines this daemon is a member of.",
        subcommands: [ClusterStatus.self])
}

/// `controlnode cluster status [--json]`: who leads, the members, this member's role, and who owns each pair.
struct ClusterStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show who leads, the members, this member's role and each pair's owner.")
    @Flag(help: "Print JSON for scripts.") var json = false
    @OptionGroup var options: SocketOptions

    func run() throws {
        let response = try options.send(ControlRequest(command: "cluster-status"))
        guard response.ok, let row = response.cluster else {
            standardError("controlnode: \(response.error ?? "no answer")")
            throw ExitCode(1)
        }
        if json {
            line(String(decoding: try JSONEncoder().encode(row), as: UTF8.self))
            return
        }
        line("member:   \(row.member) (\(row.role)\(row.fenced.map { ": \($0)" } ?? ""))")
        line("mode:     \(row.mode)")
        if row.mode == "active-standby" {
            line("leader:   \(row.leader.map { "\($0) (revision \(row.leaderRevision ?? 0))" } ?? "none")")
        }
        line("members:  \(row.members.isEmpty ? "none" : row.members.joined(separator: ", "))")
        line("etcd:     \(row.endpoints.joined(separator: ", "))")
        guard !row.pairs.isEmpty else { return }
        line("")
        let width = row.pairs.map { $0.release.count + 1 + $0.host.count }.max() ?? 0
        for pair in row.pairs {
            let name = "\(pair.release)@\(pair.host)"
            line(name + String(repeating: " ", count: width + 2 - name.count) + (pair.owner ?? "no member"))
        }
    }
}
