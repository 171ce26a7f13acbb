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
        if files["releases/start_erl.data"] == nil {
            files["releases/start_erl.data"] = "13.1.5 \(releaseVersion ?? version)\n"
        }
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

    /// One member of a crafted archive: any type, mode, owner or link, as no well-behaved tar would write.
    struct Member {
        var name: String
        /// The tar type byte: "0" file, "2" symbolic link, "5" directory, "6" FIFO.
        var type: Character = "0"
        var mode: Int = 0o644
        var uid: Int = 0
        var link: String = ""
        var data: String = ""
    }

    /// `<name>-<version>.tar.gz` holding a valid release (bin/<name>, releases/<version>/, start_erl.data) and
    /// then `members`, written by Python's tarfile, which writes whatever it is told.
    @discardableResult
    static func crafted(
        name: String, version: String, in directory: TemporaryDirectory, members: [Member], plain: Bool = true
    ) throws -> String {
        let base: [Member] = plain
            ? [
                Member(name: "bin", type: "5", mode: 0o755), Member(name: "bin/\(name)", mode: 0o755, data: "#!/bin/sh\n"),
                Member(name: "releases", type: "5", mode: 0o755),
                Member(name: "releases/start_erl.data", data: "13.1.5 \(version)\n"),
                Member(name: "releases/\(version)", type: "5", mode: 0o755),
                Member(name: "releases/\(version)/start.boot", data: "boot\n"),
            ] : []
        let output = directory.file("\(name)-\(version).tar.gz")
        let listing = (base + members).map { member in
            "(\(pythonString(member.name)), \(pythonString(String(member.type))), \(member.mode), \(member.uid), "
                + "\(pythonString(member.link)), \(pythonString(member.data)))"
        }.joined(separator: ",\n")
        let script = """
            import io, sys, tarfile
            members = [\(listing)]
            with tarfile.open(sys.argv[1], "w:gz", format=tarfile.GNU_FORMAT) as archive:
                for name, kind, mode, uid, link, data in members:
                    info = tarfile.TarInfo(name)
                    info.type = kind.encode()
                    info.mode = mode
                    info.uid = uid
                    info.linkname = link
                    payload = data.encode()
                    info.size = len(payload) if kind == "0" else 0
                    archive.addfile(info, io.BytesIO(payload) if kind == "0" else None)
            """
        let scriptPath = directory.file("craft-\(UUID().uuidString).py")
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: scriptPath) }
        let (status, log) = try runCommand("/usr/bin/python3", [scriptPath, output])
        guard status == 0 else { throw FixtureError("crafting a tarball failed: \(log)") }
        return output
    }

    private static func pythonString(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
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
