import Foundation

/// The Debian package `scripts/build-deb.sh` makes of the packaged binary (`PackagedBuild`), in `.build/deb`. Built
/// once per test process, on first use: the binary's build is shared with the other tests that need it, and
/// packaging it (with its lintian check) takes seconds.
enum DebianPackage {
    private static let build = Build()

    /// The `.deb`'s path.
    static func path() async throws -> String { try await build.path() }

    private actor Build {
        private var task: Task<String, any Error>?

        func path() async throws -> String {
            if let task { return try await task.value }
            let started = Task {
                let binary = try await PackagedBuild.executable()
                let environment = ProcessInfo.processInfo.environment.merging(["CONTROLNODE_BINARY": binary]) { $1 }
                let (status, output) = try await offload {
                    try runCommand(
                        "/bin/bash", [PackagingTests.repository + "/scripts/build-deb.sh"], environment: environment,
                        timeout: .seconds(2400))
                }
                let path = output.split(separator: "\n").last.map(String.init) ?? ""
                guard status == 0, path.hasSuffix(".deb"), FileManager.default.fileExists(atPath: path) else {
                    throw FixtureError("scripts/build-deb.sh failed (\(status)): \(output.suffix(3000))")
                }
                return path
            }
            task = started
            return try await started.value
        }
    }
}
