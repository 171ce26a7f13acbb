/// A release tarball held by the `Registry`.
public struct RegistryEntry: Hashable, Sendable {
    /// The release's name and version.
    public let release: ReleaseTarballName
    /// The tarball's path in the registry directory.
    public let path: String
    /// The tarball's SHA-256, 64 lowercase hex digits, as recorded when it was stored.
    public let sha256: String
    /// The tarball's size in bytes.
    public let size: Int

    /// The release name.
    public var name: String { release.name }
    /// The release version.
    public var version: ReleaseVersion { release.version }
}
