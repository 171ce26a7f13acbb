#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Copies a release tarball to a new file while checking it, in one pass and constant memory: each chunk
/// read is hashed (SHA-256), written, gunzipped and walked as tar, and the contents must be the release the
/// name promises. The caller owns the destination and removes it when this throws.
struct TarballImport {
    /// The tarball being stored.
    let source: String
    /// The release its name promises.
    let release: ReleaseTarballName
    private static let chunkSize = 64 << 10

    /// What the copy found: the SHA-256 (hex) and size of the bytes copied.
    struct Result {
        let sha256: String
        let size: Int
    }

    /// Checks `source` without copying it: the same reading as `copy`, for a stored tarball about to be
    /// deployed (the registry directory may have been written to since it was stored).
    ///
    /// - Throws: `RegistryError`: `.unreadable`, `.corrupt`, `.truncated`, `.unsafeContents`, `.mislabelled`.
    func check() throws(RegistryError) -> Result {
        try copy(to: nil, destinationPath: source)
    }

    /// Copies `source` to the open descriptor `destination` (named `destinationPath` in errors) and checks it;
    /// with no destination, only checks it.
    ///
    /// - Throws: `RegistryError`: `.unreadable`, `.corrupt`, `.truncated`, `.unsafeContents`, `.mislabelled`,
    ///   or `.storageFailed` when writing fails.
    func copy(to destination: Int32?, destinationPath: String) throws(RegistryError) -> Result {
        let input: Int32
        do {
            input = try systemCall("open \(source)") { open(source, O_RDONLY | O_CLOEXEC) }
        } catch {
            throw failure(.unreadable, "cannot open it: check the path and its permissions", error)
        }
        defer { close(input) }
        var hasher = SHA256Hasher()
        var contents = ReleaseContents(expecting: release)
        var gzip: GzipDecoder
        do {
            gzip = try GzipDecoder()
        } catch {
            throw failure(.corrupt, error.detail)
        }
        var tar = TarScanner(keptMembers: [ReleaseContents.startData])
        var size = 0
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let count: Int
            do {
                count = try systemCall("read \(source)") { read(input, chunk.baseAddress, chunk.count) }
            } catch {
                throw failure(.unreadable, "reading it failed at byte \(size)", error)
            }
            if count == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: chunk[0..<count])
            hasher.update(bytes)
            if let destination { try write(bytes, to: destination, path: destinationPath) }
            size += count
            do {
                try gzip.decompress(bytes) { (output) throws(ArchiveError) in
                    try tar.consume(output) { contents.record($0) }
                }
            } catch {
                throw archiveFailure(error)
            }
        }
        do {
            try gzip.finish()
            try tar.finish()
        } catch {
            throw archiveFailure(error)
        }
        if let mismatch = contents.mismatch { throw failure(.mislabelled, mismatch) }
        guard let destination else { return Result(sha256: Hex.encode(hasher.finalize()), size: size) }
        do {
            _ = try systemCall("fsync \(destinationPath)") { fsync(destination) }
        } catch {
            throw RegistryError(
                .storageFailed, path: destinationPath, release: release, "cannot flush the copy to disk",
                underlyingError: error)
        }
        return Result(sha256: Hex.encode(hasher.finalize()), size: size)
    }

    private func write(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String) throws(RegistryError) {
        var written = 0
        while written < bytes.count {
            do {
                written += try systemCall("write \(path)") {
                    Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
                }
            } catch {
                throw RegistryError(
                    .storageFailed, path: path, release: release,
                    "cannot write the registry's copy: check free space and permissions", underlyingError: error)
            }
        }
    }

    private func archiveFailure(_ error: ArchiveError) -> RegistryError {
        switch error.code {
        case .notGzip:
            failure(.corrupt, "\(error.detail): a release tarball is a .tar.gz made by `mix release`")
        case .corruptCompression, .corruptTar:
            failure(.corrupt, "\(error.detail); rebuild the release or copy the tarball again")
        case .truncated:
            failure(.truncated, "\(error.detail): the file is incomplete; copy or build it again")
        case .unsafeEntry:
            failure(.unsafeContents, "\(error.detail); refusing to store it")
        }
    }

    private func failure(
        _ code: RegistryError.Code, _ detail: String, _ underlying: (any Error & Sendable)? = nil
    ) -> RegistryError {
        RegistryError(code, path: source, release: release, detail, underlyingError: underlying)
    }
}
