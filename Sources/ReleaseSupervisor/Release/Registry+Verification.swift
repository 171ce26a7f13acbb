import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Registry {
    /// The stored tarball of `name` at `version`, checked again as it is about to be deployed: its SHA-256
    /// matches its checksum file and the scanner accepts its contents, exactly as at `registry add`.
    ///
    /// Anyone who can write the registry directory could otherwise place any `.tar.gz`/`.sha256` pair there.
    /// The result is remembered per file identity (device, inode, size, modification and change times), so a
    /// rollout to 200 hosts reads the tarball once; any write to the file changes its change time.
    /// The entry's SHA-256 is the one computed here, and the host checks the bytes it receives against it, so
    /// a file swapped after this check is refused on the host.
    ///
    /// - Throws: `RegistryError`: `.notFound`, or `.corrupt`, `.truncated`, `.mislabelled`, `.unsafeContents`
    ///   for a tarball that changed or was never stored through the registry.
    public func verifiedFetch(_ name: String, _ version: ReleaseVersion) throws(RegistryError) -> RegistryEntry {
        let entry = try fetch(name, version)
        guard let identity = FileIdentity(entry.path) else {
            throw RegistryError(.notFound, path: entry.path, release: entry.release, "cannot stat the stored tarball")
        }
        if verified.contains(identity, sha256: entry.sha256) { return entry }
        // One check at a time: concurrent deploys of one version wait for the first and then find it remembered.
        return try verified.checking { () throws(RegistryError) -> RegistryEntry in
            if verified.contains(identity, sha256: entry.sha256) { return entry }
            let result = try TarballImport(source: entry.path, release: entry.release).check()
            guard result.sha256 == entry.sha256 else {
                throw RegistryError(
                    .corrupt, path: entry.path, release: entry.release,
                    "its SHA-256 is \(result.sha256) but its checksum file says \(entry.sha256): the stored tarball "
                        + "changed since it was added; add it again with `controlnode registry add`")
            }
            verified.remember(identity, sha256: entry.sha256)
            return RegistryEntry(release: entry.release, path: entry.path, sha256: result.sha256, size: result.size)
        }
    }
}

/// A file's identity as far as telling whether it changed: any write moves its change time, which a user
/// cannot set back.
struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64
    let changed: Int64

    init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }
}

/// The tarballs a registry has checked since the daemon started, by file identity and checksum.
final class VerifiedTarballs: Sendable {
    private let checked = Locked<[FileIdentity: String]>([:])
    private let checking = Locked<Void>(())
    /// Bounds the memory: a daemon that deploys many versions forgets the oldest checks (they are redone).
    private static let limit = 256

    func contains(_ identity: FileIdentity, sha256: String) -> Bool {
        checked.withLock { $0[identity] == sha256 }
    }

    func remember(_ identity: FileIdentity, sha256: String) {
        checked.withLock {
            if $0.count >= Self.limit { $0.removeAll() }
            $0[identity] = sha256
        }
    }

    func checking<T>(_ body: () throws(RegistryError) -> T) throws(RegistryError) -> T {
        try checking.withLock { _ throws(RegistryError) -> T in try body() }
    }
}
