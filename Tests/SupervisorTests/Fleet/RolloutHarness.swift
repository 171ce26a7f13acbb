import Foundation
import Testing

/// What the rollout tests share: more versions of the fixture in the registry, the CLI against the fleet's
/// daemon, and a sampler of how many hosts are down at once.
extension TestHosts {
    /// Adds `versions` of service_app (0.2.0, or the failing 0.3.0 and 0.4.0) to the daemon's registry.
    func storeVersions(_ versions: [String]) async throws {
        for version in versions {
            let tarball = try await ReleaseFixture.tarball(version)
            let added = try runCommand(
                controlnodeExecutable(), ["registry", "add", tarball, "--registry", directory.file("registry")])
            guard added.status == 0 else { throw FixtureError("registry add \(version): \(added.output)") }
        }
    }

    /// `controlnode ARGUMENTS --socket` the fleet's daemon.
    func cli(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let all = arguments + ["--socket", controlSocket]
        return try await offload { try runCommand(controlnodeExecutable(), all) }
    }

    /// A command's JSON output as rows.
    func json(_ arguments: [String]) async throws -> [[String: Any]] {
        let result = try await cli(arguments + ["--json"])
        guard result.status == 0 else { throw FixtureError("\(arguments): \(result.output)") }
        return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]] ?? []
    }

    /// The last rollout of `release` (in progress or ended), as `rollout status --json` shows it.
    func lastRollout(_ release: String = "service_app") async throws -> [String: Any]? {
        try await json(["rollout", "status", release]).first
    }

    /// The OS pid of service_app on each host, by host name.
    func pids(_ rows: [[String: Any]]) -> [String: Int] {
        Dictionary(rows.compactMap { row in
            (row["host"] as? String).flatMap { host in (row["os_pid"] as? Int).map { (host, $0) } }
        }) { first, _ in first }
    }

    /// Runs `command` in host `number`'s mount namespace as a test step.
    func onHost(_ number: Int, _ command: String) throws -> String { try inMountNamespace(ofHost: number, command) }
}

/// The rows of a rollout's hosts, by host name.
func rolloutHosts(_ rollout: [String: Any]?) -> [String: [String: Any]] {
    let record = rollout?["record"] as? [String: Any]
    let hosts = record?["hosts"] as? [[String: Any]] ?? []
    return Dictionary(hosts.compactMap { row in (row["host"] as? String).map { ($0, row) } }) { first, _ in first }
}

/// Reads `status --json` every 100 ms while a rollout runs: the most hosts of a release seen not running at once,
/// and every version seen per host.
actor DowntimeSampler {
    private let hosts: TestHosts
    private var task: Task<Void, Never>?
    private(set) var mostDown = 0
    private(set) var samples = 0

    init(_ hosts: TestHosts) { self.hosts = hosts }

    /// Starts sampling in the background until `stop()`.
    func start() {
        let hosts = self.hosts
        task = Task {
            while !Task.isCancelled {
                let rows = (try? await hosts.status()) ?? []
                if !rows.isEmpty {
                    let down = rows.filter { $0["status"] as? String != "running" }.count
                    self.record(down)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func record(_ down: Int) {
        mostDown = max(mostDown, down)
        samples += 1
    }

    /// Stops and returns the most hosts down at once and how many samples were taken.
    func stop() async -> (mostDown: Int, samples: Int) {
        task?.cancel()
        await task?.value
        return (mostDown, samples)
    }
}
