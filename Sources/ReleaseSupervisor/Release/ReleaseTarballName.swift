/// The name a release tarball is filed under, `<name>-<version>.tar.gz`, as `mix release` names it.
public struct ReleaseTarballName: Hashable, Sendable, CustomStringConvertible {
    /// The release name, as `service_app`.
    public let name: String
    /// The release version.
    public let version: ReleaseVersion

    /// Names the tarball of release `name` at `version`; nil when `name` is not a valid release name.
    public init?(name: String, version: ReleaseVersion) {
        guard Self.isValidName(name) else { return nil }
        self.name = name
        self.version = version
    }

    /// Parses a file name such as `service_app-0.1.0.tar.gz` (a directory part is ignored); nil when it is
    /// not of that form.
    public init?(fileName: String) {
        let base = fileName.split(separator: "/").last.map(String.init) ?? fileName
        guard base.hasSuffix(".tar.gz") else { return nil }
        let stem = base.dropLast(".tar.gz".count)
        // The name has no "-"; the version may ("1.0.0-rc.1"), so the first "-" separates them.
        guard let dash = stem.firstIndex(of: "-"),
            let version = ReleaseVersion(stem[stem.index(after: dash)...])
        else { return nil }
        self.init(name: String(stem[..<dash]), version: version)
    }

    /// `<name>-<version>.tar.gz`.
    public var fileName: String { "\(name)-\(version).tar.gz" }

    /// `<name> <version>`, as messages name a release.
    public var description: String { "\(name) \(version)" }

    /// Whether `name` can name a release: an Elixir atom in snake case, `[a-z][a-z0-9_]*`, at most 255 bytes.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (97...122).contains(first), name.utf8.count <= 255 else { return false }
        return name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }
}
