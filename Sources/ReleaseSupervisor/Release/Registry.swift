#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The local store of release tarballs: `<directory>/<name>-<version>.tar.gz`, each with its SHA-256 in
/// `<name>-<version>.tar.gz.sha256` (`sha256sum` format, so `sha256sum -c` checks it by hand).
///
/// A tarball is checked as it is stored (gzip and tar readable, `bin/<name>` and `releases/<version>/`
/// inside) and appears under its final name only once complete: it is copied to a hidden temporary file and
/// renamed, checksum file first, so an entry is listed only when both are there. A stored version is never
/// replaced by different contents.
///
/// The methods block on file I/O (storing a 50 MB tarball takes about a second): call them from a thread
/// that may block, not from the middle of latency-sensitive work.
public struct Registry: Sendable {
    /// The directory holding the tarballs.
    public let directory: String
    /// The tarballs checked again before a deploy (`verifiedFetch`), shared by every copy of this value.
    let verified = VerifiedTarballs()

    /// Opens the registry in `directory`, creating the directory if it does not exist.
    ///
    /// - Throws: `RegistryError` with `.storageFailed` when the directory cannot be created.
    public init(directory: String) throws(RegistryError) {
        self.directory = directory
        do {
            try LocalDirectory.create(directory)
        } catch {
            throw RegistryError(
                .storageFailed, path: directory, "cannot create the registry directory: check its parent's permissions",
                underlyingError: error)
        }
    }

    /// Stores the tarball at `path`, whose file name says which release and version it is
    /// (`service_app-0.1.0.tar.gz`).
    ///
    /// Storing the same contents again returns the existing entry.
    /// - Throws: `RegistryError` with `.invalidName` when the file name is not `<name>-<version>.tar.gz`, or
    ///   any error of `store(_:as:)`.
    @discardableResult
    public func store(_ path: String) throws(RegistryError) -> RegistryEntry {
        guard let release = ReleaseTarballName(fileName: path) else {
            throw RegistryError(
                .invalidName, path: path,
                "the file name is not <name>-<version>.tar.gz (as `mix release` names it, such as "
                    + "my_app-1.2.3.tar.gz): rename it, or give the name and version explicitly")
        }
        return try store(path, as: release)
    }

    /// Stores the tarball at `path` as release `release`, whatever the file is called.
    ///
    /// - Throws: `RegistryError`: `.unreadable`, `.corrupt`, `.truncated`, `.mislabelled` (the contents are
    ///   another release or version), `.unsafeContents`, `.conflict` (stored before with other contents) or
    ///   `.storageFailed`. Nothing is left in the registry when it throws.
    @discardableResult
    public func store(_ path: String, as release: ReleaseTarballName) throws(RegistryError) -> RegistryEntry {
        let final = file(release)
        let temporary = "\(directory)/.\(release.fileName).\(UInt64.random(in: 0...UInt64.max)).partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RegistryError(
                .storageFailed, path: temporary, release: release,
                "cannot create a file in the registry directory: check its permissions and free space",
                underlyingError: SystemCallError(call: "open", errno: errno))
        }
        // Whatever happens below, the temporary file is gone afterwards: renamed into place or removed.
        defer { unlink(temporary) }
        let result: TarballImport.Result
        do {
            defer { close(fd) }
            result = try TarballImport(source: path, release: release).copy(to: fd, destinationPath: temporary)
        }
        // Check and commit under the registry's lock, so that two stores of one version (from this process or
        // another) cannot pair one's checksum file with the other's tarball.
        let lock = try lockRegistry(release: release)
        defer { close(lock) }
        if let existing = try? fetch(release) {
            guard existing.sha256 == result.sha256 else {
                throw RegistryError(
                    .conflict, path: path, release: release,
                    "the registry already holds \(release.fileName) with other contents (SHA-256 \(existing.sha256)); "
                        + "a stored version never changes: build a new version, or remove \(existing.path) and its "
                        + ".sha256 file first")
            }
            return existing
        }
        try commit(temporary, as: final, sha256: result.sha256, release: release)
        return RegistryEntry(release: release, path: final, sha256: result.sha256, size: result.size)
    }

    /// The stored tarball of `name` at `version`.
    ///
    /// - Throws: `RegistryError` with `.notFound`, or `.invalidName` for a name that cannot be a release.
    public func fetch(_ name: String, _ version: ReleaseVersion) throws(RegistryError) -> RegistryEntry {
        guard let release = ReleaseTarballName(name: name, version: version) else {
            throw RegistryError(.invalidName, path: directory, "\(name) is not a valid release name ([a-z][a-z0-9_]*)")
        }
        return try fetch(release)
    }

    /// The stored tarball of `release`.
    ///
    /// - Throws: `RegistryError` with `.notFound`.
    public func fetch(_ release: ReleaseTarballName) throws(RegistryError) -> RegistryEntry {
        let path = file(release)
        let size: Int
        let checksum: String?
        do {
            size = try LocalFile.size(path)
            checksum = try LocalFile.readTextIfPresent(path + ".sha256")
        } catch {
            let stored = (try? versions(of: release.name))?.map(\.description).joined(separator: ", ") ?? ""
            throw RegistryError(
                .notFound, path: path, release: release,
                "not in the registry (stored versions: \(stored.isEmpty ? "none" : stored)); store its tarball first",
                underlyingError: error)
        }
        guard let checksum, let sha256 = checksum.split(separator: " ").first, Self.isHexDigest(sha256) else {
            throw RegistryError(
                .notFound, path: path, release: release,
                "its checksum file \(path).sha256 is missing or unreadable: store the tarball again")
        }
        return RegistryEntry(release: release, path: path, sha256: String(sha256), size: size)
    }

    /// The stored versions of release `name`, lowest first.
    ///
    /// - Throws: `RegistryError` with `.storageFailed` when the directory cannot be read.
    public func versions(of name: String) throws(RegistryError) -> [ReleaseVersion] {
        try list()[name] ?? []
    }

    /// Every stored release with its versions, lowest first.
    ///
    /// - Throws: `RegistryError` with `.storageFailed` when the directory cannot be read.
    public func list() throws(RegistryError) -> [String: [ReleaseVersion]] {
        let names: [String]
        do {
            names = try LocalDirectory.entries(directory)
        } catch {
            throw RegistryError(
                .storageFailed, path: directory, "cannot list the registry directory: check its permissions",
                underlyingError: error)
        }
        let present = Set(names)
        var releases: [String: [ReleaseVersion]] = [:]
        for name in names where !name.hasPrefix(".") && present.contains(name + ".sha256") {
            guard let release = ReleaseTarballName(fileName: name) else { continue }
            releases[release.name, default: []].append(release.version)
        }
        return releases.mapValues { $0.sorted() }
    }

    private func file(_ release: ReleaseTarballName) -> String { "\(directory)/\(release.fileName)" }

    /// Writes the checksum file, then renames it and the tarball into place, and syncs the directory.
    private func commit(
        _ temporary: String, as final: String, sha256: String, release: ReleaseTarballName
    ) throws(RegistryError) {
        let checksumTemporary = temporary + ".sha256"
        let checksumFinal = final + ".sha256"
        do {
            try LocalFile.append("\(sha256)  \(release.fileName)\n", to: checksumTemporary, mode: 0o644)
            _ = try systemCall("rename \(checksumTemporary)") { rename(checksumTemporary, checksumFinal) }
        } catch {
            unlink(checksumTemporary)
            throw RegistryError(
                .storageFailed, path: checksumFinal, release: release,
                "cannot write the checksum file: check the registry directory's permissions and free space",
                underlyingError: error)
        }
        do {
            _ = try systemCall("rename \(temporary)") { rename(temporary, final) }
            try LocalDirectory.sync(directory)
        } catch {
            // Neither file may stay: a tarball without its checksum file is not listed, but would be in the way.
            unlink(checksumFinal)
            unlink(final)
            throw RegistryError(
                .storageFailed, path: final, release: release,
                "cannot move the checked copy into place: check the registry directory", underlyingError: error)
        }
    }

    /// Takes the exclusive lock on `<directory>/.lock`; closing the returned descriptor releases it.
    private func lockRegistry(release: ReleaseTarballName) throws(RegistryError) -> Int32 {
        let path = "\(directory)/.lock"
        do {
            let fd = try systemCall("open \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
            do {
                _ = try systemCall("flock \(path)") { flock(fd, LOCK_EX) }
            } catch {
                close(fd)
                throw error
            }
            return fd
        } catch {
            throw RegistryError(
                .storageFailed, path: path, release: release, "cannot lock the registry: check its permissions",
                underlyingError: error)
        }
    }

    private static func isHexDigest(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
