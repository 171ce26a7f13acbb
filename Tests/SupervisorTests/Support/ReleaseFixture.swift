import Crypto
import Foundation

/// The `service_app` release tarballs built from `Tests/Fixtures/service_app` with `mix release`.
///
/// Built once per version and cached outside the repository, in `$CONTROLNODE_FIXTURE_CACHE`,
/// `$XDG_CACHE_HOME/controlnode-fixtures` or `/var/tmp/controlnode-fixtures`, under a hash of the fixture's
/// sources and the installed Erlang/OTP and Elixir versions: a change to any rebuilds, anything else reuses.
/// A lock file serialises builds between test processes; within one process, every caller awaits one build.
enum ReleaseFixture {
    /// The release name.
    static let name = "service_app"
    /// The versions built: 0.1.0 and 0.2.0 work; 0.3.0 crashes at boot; 0.4.0 boots but fails its health check.
    static let versions = ["0.1.0", "0.2.0", "0.3.0", "0.4.0"]
    /// The versions built to fail, and how (`SERVICE_APP_FLAVOUR`).
    static let flavours = ["0.3.0": "crash", "0.4.0": "unhealthy"]

    /// The path of the cached tarball of `version`, building every version first if needed.
    static func tarball(_ version: String) async throws -> String {
        guard versions.contains(version) else { throw FixtureError("the fixture has no version \(version)") }
        return try await builds.directory() + "/\(name)-\(version).tar.gz"
    }

    /// How long the last build in this process took, if this process built the tarballs.
    static func buildDuration() async -> Duration? { await builds.duration }

    private static let builds = Builds()

    /// One build per process: the first caller starts it on a Dispatch thread, everyone awaits it.
    private actor Builds {
        private var build: Task<String, any Error>?
        private(set) var duration: Duration?

        func directory() async throws -> String {
            if let build { return try await build.value }
            let task = Task {
                let start = ContinuousClock.now
                let (directory, built) = try await offload { try ReleaseFixture.buildIfNeeded() }
                if built { self.record(ContinuousClock.now - start) }
                return directory
            }
            build = task
            return try await task.value
        }

        private func record(_ duration: Duration) { self.duration = duration }
    }

    /// The fixture's sources: `Tests/Fixtures/service_app`, found from this file's path.
    static var sourceDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/service_app").path
    }

    private static var cacheRoot: String {
        let environment = ProcessInfo.processInfo.environment
        if let root = environment["CONTROLNODE_FIXTURE_CACHE"], !root.isEmpty { return root }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/controlnode-fixtures" }
        return "/var/tmp/controlnode-fixtures"
    }

    /// Builds the tarballs unless the cache has them; blocking. Returns their directory and whether it built.
    private static func buildIfNeeded() throws -> (String, Bool) {
        let directory = cacheRoot + "/" + (try sourceHash())
        let manager = FileManager.default
        func complete() -> Bool {
            versions.allSatisfy { manager.fileExists(atPath: "\(directory)/\(name)-\($0).tar.gz") }
        }
        if complete() { return (directory, false) }
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock = open(directory + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw FixtureError("cannot create \(directory)/.lock: errno \(errno)") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        // Another process may have built them while this one waited for the lock.
        if complete() { return (directory, false) }
        for version in versions { try build(version, into: directory) }
        return (directory, true)
    }

    /// Copies the sources to a scratch directory (no `_build` in the repository) and runs `mix release`.
    private static func build(_ version: String, into directory: String) throws {
        let manager = FileManager.default
        let scratch = try TemporaryDirectory(prefix: "controlnode-fixture-build")
        defer { scratch.remove() }
        let project = scratch.file("service_app")
        try manager.copyItem(atPath: sourceDirectory, toPath: project)
        try? manager.removeItem(atPath: project + "/_build")
        var environment = ProcessInfo.processInfo.environment
        environment["MIX_ENV"] = "prod"
        environment["MIX_HOME"] = scratch.file("mix")
        environment["HEX_OFFLINE"] = "1"
        environment["SERVICE_APP_VERSION"] = version
        environment["SERVICE_APP_FLAVOUR"] = flavours[version] ?? "normal"
        // /bin/sh changes directory (posix_spawn cannot here); the path is an argument, never parsed.
        let (status, output) = try runCommand(
            "/bin/sh", ["-c", "cd \"$1\" && exec mix release --overwrite", "sh", project], environment: environment)
        let built = "\(project)/_build/prod/\(name)-\(version).tar.gz"
        guard status == 0, manager.fileExists(atPath: built) else {
            throw FixtureError("mix release of \(name) \(version) failed (exit \(status)):\n\(output.suffix(4000))")
        }
        let final = "\(directory)/\(name)-\(version).tar.gz"
        try? manager.removeItem(atPath: final + ".partial")
        try manager.copyItem(atPath: built, toPath: final + ".partial")
        guard rename(final + ".partial", final) == 0 else { throw FixtureError("cannot rename to \(final)") }
    }

    /// SHA-256 over the fixture's files (path and contents, in path order) and the Erlang and Elixir versions.
    private static func sourceHash() throws -> String {
        let manager = FileManager.default
        var hasher = SHA256()
        guard let files = manager.enumerator(atPath: sourceDirectory) else {
            throw FixtureError("the fixture sources are missing at \(sourceDirectory)")
        }
        var paths: [String] = []
        for case let path as String in files where !path.hasPrefix("_build") && !path.hasPrefix("deps") {
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: sourceDirectory + "/" + path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                paths.append(path)
            }
        }
        let toolchain =
            ((try? manager.contentsOfDirectory(atPath: "/usr/lib/erlang/releases")) ?? [])
            .map { "/usr/lib/erlang/releases/\($0)/OTP_VERSION" } + ["/usr/lib/elixir/lib/elixir/ebin/elixir.app"]
        for path in paths.sorted() {
            hasher.update(data: Data(path.utf8))
            hasher.update(data: try Data(contentsOf: URL(fileURLWithPath: sourceDirectory + "/" + path)))
        }
        for path in toolchain.sorted() {
            hasher.update(data: Data(path.utf8))
            hasher.update(data: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
        }
        return hasher.finalize().prefix(12).map { String(format: "%02x", $0) }.joined()
    }
}
