/// What a release tarball holds, as far as telling which release and version it is: the executables in
/// `bin/`, the version directories in `releases/` and the version `releases/start_erl.data` boots. Fed entry
/// by entry; keeps a handful of names only.
///
/// The label must be exact: a tarball named 1.0.0 holds exactly one version directory, `releases/1.0.0/`, and
/// its `start_erl.data` boots 1.0.0 — otherwise a tarball could carry, and start, a version other than the
/// one every record says was deployed.
struct ReleaseContents {
    /// The member whose data says which version the release boots (`<erts version> <release version>`).
    static let startData = "releases/start_erl.data"

    /// The release the file name promises.
    let expected: ReleaseTarballName
    private var executableMode: UInt32?
    private var hasVersionDirectory = false
    private var executables: Set<String> = []
    private var versions: Set<String> = []
    private var bootedVersion: String?
    private static let keptNames = 16

    init(expecting expected: ReleaseTarballName) {
        self.expected = expected
    }

    /// Notes one tar member.
    mutating func record(_ entry: TarEntry) {
        if entry.path == Self.startData, entry.kind == .file {
            let text = String(decoding: entry.data ?? [], as: UTF8.self)
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
            bootedVersion = fields.count == 2 ? String(fields[1]) : "(unreadable: \(text.prefix(40).debugDescription))"
            return
        }
        let components = entry.path.split(separator: "/")
        guard components.count >= 2 else { return }
        if components[0] == "bin", components.count == 2, entry.kind == .file {
            if components[1] == expected.name { executableMode = entry.mode }
            if executables.count < Self.keptNames { executables.insert(String(components[1])) }
        } else if components[0] == "releases", components.count > 2 || entry.kind == .directory {
            if components[1] == Substring(expected.version.description) { hasVersionDirectory = true }
            if versions.count < Self.keptNames { versions.insert(String(components[1])) }
        }
    }

    /// Why the contents are not release `expected`, or nil when they are.
    var mismatch: String? {
        let fileName = expected.fileName
        guard let mode = executableMode else {
            if executables.isEmpty {
                return "it has no bin/\(expected.name) and no bin/ at all: it is not a release tarball; build it "
                    + "with `mix release` and the :tar step"
            }
            let found = executables.sorted().map { "bin/\($0)" }.joined(separator: ", ")
            return "it holds \(found), not bin/\(expected.name): it is another release; store it under that "
                + "release's name, or check that \(fileName) is the file you meant"
        }
        guard mode & 0o111 != 0 else {
            return "bin/\(expected.name) is not executable (mode \(String(mode, radix: 8))): rebuild the release"
        }
        guard hasVersionDirectory else {
            if versions.isEmpty {
                return "it has no releases/\(expected.version)/ and no releases/ at all: it is not a release "
                    + "tarball; build it with `mix release` and the :tar step"
            }
            let found = versions.sorted().map { "releases/\($0)/" }.joined(separator: ", ")
            let suggestion = versions.count == 1 ? " (\(expected.name)-\(versions.first!).tar.gz)" : ""
            return "it holds \(found), not releases/\(expected.version)/: it is another version; store it "
                + "under its own version\(suggestion), or rebuild it as \(expected.version)"
        }
        guard versions.count == 1 else {
            let found = versions.sorted().map { "releases/\($0)/" }.joined(separator: ", ")
            return "it holds \(found): a release tarball holds exactly one version directory, releases/"
                + "\(expected.version)/; rebuild it from a clean build directory"
        }
        guard let bootedVersion else {
            return "it has no \(Self.startData), which says which version boots: build it with `mix release`"
        }
        guard bootedVersion == expected.version.description else {
            return "its \(Self.startData) boots version \(bootedVersion), not \(expected.version): rebuild it, or store "
                + "it under the version it boots"
        }
        return nil
    }
}
