import Foundation

/// The daemon as `packaging/build.sh` builds it for installation (release mode, the Swift runtime linked in, code
/// laid out by use): what a memory target is about. Built once per test process, on first use (about a minute).
enum PackagedBuild {
    private static let build = Build()

    /// The packaged binary's path.
    static func executable() async throws -> String { try await build.path() }

    private actor Build {
        private var task: Task<String, any Error>?

        func path() async throws -> String {
            if let task { return try await task.value }
            let started = Task {
                let (status, output) = try await offload {
                    try runCommand(
                        "/bin/bash", [PackagingTests.repository + "/packaging/build.sh"], timeout: .seconds(2400))
                }
                let path = output.split(separator: "\n").last.map(String.init) ?? ""
                guard status == 0, FileManager.default.isExecutableFile(atPath: path) else {
                    throw FixtureError("packaging/build.sh failed (\(status)): \(output.suffix(3000))")
                }
                return path
            }
            task = started
            return try await started.value
        }
    }
}
