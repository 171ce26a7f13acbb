/// A failure of the release registry: what failed, on which file and release, and what to do.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public enum Code: Sendable, Equatable {
        /// The file name is not `<name>-<version>.tar.gz`, or the name or version is invalid.
        case invalidName
        /// The tarball to store could not be opened or read.
        case unreadable
        /// The file is not gzip, or its compression or tar structure is damaged.
        case corrupt
        /// The file stops before the end of its gzip stream or tar archive.
        case truncated
        /// The contents are another release or version than the file name says.
        case mislabelled
        /// An entry would be extracted outside the release directory, or is a device node.
        case unsafeContents
        /// The registry already holds this release and version with different contents.
        case conflict
        /// The registry holds no such release or version.
        case notFound
        /// Writing to the registry directory failed.
        case storageFailed
    }

    /// What failed.
    public let code: Code
    /// The file concerned: the tarball being stored, or the registry's copy.
    public let path: String
    /// The release concerned, when known.
    public let release: ReleaseTarballName?
    /// What happened and what to do.
    public let detail: String
    /// The error of the layer below (a system call), if any.
    public let underlyingError: (any Error & Sendable)?

    init(
        _ code: Code, path: String, release: ReleaseTarballName? = nil, _ detail: String,
        underlyingError: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.path = path
        self.release = release
        self.detail = detail
        self.underlyingError = underlyingError
    }

    /// One line for logs and the command line.
    public var description: String {
        let subject = release.map { "release \($0) (\(path))" } ?? path
        let cause = underlyingError.map { " (\($0))" } ?? ""
        return "registry: \(subject): \(detail)\(cause)"
    }
}
