import Foundation

/// Small release-shaped tarballs made with GNU tar, for registry and archive tests that need no real build.
enum SyntheticTarball {
    /// Writes `<name>-<version>.tar.gz` into `directory` with `bin/<binary>` (executable) and
    /// `releases/<releaseVersion>/start.boot`, plus `extraFiles` (relative path → contents).
    @discardableResult
    static func make(
        name: String, version: String, in directory: TemporaryDirectory, binary: String? = nil,
        releaseVersion: String? = nil, extraFiles: [String: String] = [:], tarOptions: [String] = [],
        fileName: String? = nil
    ) throws -> String {
        let tree = directory.file("tree-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: tree) }
        var files = extraFiles
        files["bin/\(binary ?? name)"] = "#!/bin/sh\necho \(name)\n"
        files["releases/\(releaseVersion ?? version)/start.boot"] = "boot \(version)\n"
        for (path, contents) in files {
            let full = tree + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: full, atomically: true, encoding: .utf8)
        }
        chmod(tree + "/bin/\(binary ?? name)", 0o755)
        let output = directory.file(fileName ?? "\(name)-\(version).tar.gz")
        try FileManager.default.createDirectory(
            atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let (status, log) = try runCommand("/bin/tar", tarOptions + ["-czf", output, "-C", tree] + files.keys.sorted())
        guard status == 0 else { throw FixtureError("tar failed: \(log)") }
        return output
    }

    /// gzip of `data`, by /bin/gzip.
    static func gzip(_ data: Data, in directory: TemporaryDirectory) throws -> Data {
        let path = directory.file("gz-\(UUID().uuidString)")
        try data.write(to: URL(fileURLWithPath: path))
        let (status, log) = try runCommand("/bin/gzip", ["-n", path])
        guard status == 0 else { throw FixtureError("gzip failed: \(log)") }
        return try Data(contentsOf: URL(fileURLWithPath: path + ".gz"))
    }
}
