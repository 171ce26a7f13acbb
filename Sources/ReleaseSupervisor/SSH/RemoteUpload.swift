#if canImport(Glibc)
import Glibc
#endif

/// A file that reached its final name on the host, with the checksum both sides agreed on.
public struct UploadResult: Sendable, Equatable {
    /// The absolute path on the host.
    public var remotePath: String
    /// The file's size in bytes.
    public var size: Int
    /// The SHA-256 of the file, lowercase hex, as computed locally and on the host.
    public var sha256: String
}

extension SSHConnection {
    /// Uploads `localPath` to the absolute `remotePath`, creating missing parent directories.
    ///
    /// The file is written under a temporary name beside its destination and renamed only after the host's
    /// `sha256sum` of it matches the local SHA-256; a failure at any point leaves nothing under the final name.
    ///
    /// - Parameters:
    ///   - knownSHA256: the local file's SHA-256 (lowercase hex) when already known, as the registry keeps it;
    ///     otherwise it is computed while the file is sent.
    /// - Throws: `SSHError` naming the host, the path and the cause (unreadable local file, permission denied,
    ///   disk full, checksum mismatch, connection lost).
    public func upload(localPath: String, to remotePath: String, mode: Int = 0o644, knownSHA256: String? = nil)
        async throws(SSHError) -> UploadResult
    {
        let endpoint = settings.endpoint
        guard remotePath.hasPrefix("/"), !remotePath.hasSuffix("/") else {
            throw SSHError(.uploadFailed, host: endpoint, detail: "remote path \(remotePath) must be an absolute file path")
        }
        let (descriptor, size) = try openLocalFile(localPath)
        defer { Glibc.close(descriptor) }

        let parent = String(remotePath[..<remotePath.lastIndex(of: "/")!])
        let name = String(remotePath[remotePath.index(after: remotePath.lastIndex(of: "/")!)...])
        let temporary = "\(parent)/.\(name).upload-\(String(UInt64.random(in: 1...UInt64.max), radix: 16))"

        async let computedDigest = knownSHA256 == nil ? Self.sha256(of: descriptor, size: size) : nil
        let written = await inSession {
            SFTPWriteOperation(
                localDescriptor: descriptor, fileSize: size, directories: Self.ancestors(of: parent),
                remotePath: temporary, mode: mode, continuation: $0)
        }
        let digest = await computedDigest ?? knownSHA256
        try written.get()
        guard let expected = digest else {
            _ = try? await execute("rm -f -- \(ShellQuote.quote(temporary))")
            throw SSHError(.localFileUnreadable, host: endpoint, detail: "cannot read \(localPath) to checksum it")
        }
        try await verifyAndRename(temporary: temporary, to: remotePath, expected: expected)
        return UploadResult(remotePath: remotePath, size: size, sha256: expected)
    }

    /// One command on the host: checksum the temporary file, and rename it only if the checksum matches.
    /// OpenSSL's digest is used when the host has it (several times faster than coreutils' sha256sum on CPUs
    /// with SHA extensions); sha256sum otherwise. Both print the hex digest first.
    private func verifyAndRename(temporary: String, to remotePath: String, expected: String) async throws(SSHError) {
        let script = Self.verifyAndRenameScript(temporary: ShellQuote.quote(temporary), to: remotePath, expected: expected)
        let result = try await execute(script, timeout: .seconds(600))
        switch result.exit {
        case .status(0):
            return
        case .status(5):
            let remote = result.stdoutText.split(separator: " ").first.map(String.init) ?? "?"
            throw SSHError(
                .checksumMismatch, host: settings.endpoint,
                detail: "upload to \(remotePath) arrived corrupted (sha256 \(remote) on the host, \(expected) here); "
                    + "the temporary file was removed, retry the upload")
        default:
            throw SSHError(
                .uploadFailed, host: settings.endpoint,
                detail: "cannot verify or rename the upload to \(remotePath): "
                    + result.stderrText.trimmingWhitespace() + "; nothing was left under the final name")
        }
    }

    /// Shell lines that checksum `temporary` (a quoted path or a quoted shell variable) and rename it to
    /// `remotePath` only if the SHA-256 is `expected`. Exit 3: no checksum tool worked; 4: the rename failed;
    /// 5: mismatch (the host's digest on stdout). The temporary file is gone after a failure.
    static func verifyAndRenameScript(temporary source: String, to remotePath: String, expected: String) -> String {
        """
        sum=$(openssl dgst -sha256 -r \(source) 2>/dev/null) || sum=$(sha256sum -b -- \(source)) || exit 3
        case "$sum" in
          \(expected)\\ *) mv -f -- \(source) \(ShellQuote.quote(remotePath)) || { rm -f -- \(source); exit 4; } ;;
          *) rm -f -- \(source); echo "$sum"; exit 5 ;;
        esac
        """
    }

    /// Runs `command` with `input`, then the contents of `localPath`, on its stdin, then end of file.
    ///
    /// A file transfer that costs one remote command and no SFTP session, so one login shell on the host
    /// instead of two; the command decides where the bytes go (and must verify them).
    /// - Parameter progress: hears of the file's bytes sent (every 256 KiB and at the end); it must not block.
    /// - Throws: `SSHError`: `.localFileUnreadable`, or what `execute` throws.
    public func execute(
        _ command: String, input: [UInt8], thenFileAt localPath: String, timeout: Duration,
        progress: (@Sendable (_ sent: Int, _ total: Int) -> Void)? = nil
    ) async throws(SSHError) -> ExecResult {
        let (descriptor, size) = try openLocalFile(localPath)
        defer { Glibc.close(descriptor) }
        let file = FileInput(descriptor: descriptor, size: size, description: localPath, progress: progress)
        return try await inSession {
            ExecOperation(command: command, input: input, file: file, timeout: timeout, continuation: $0)
        }.get()
    }

    /// Opens a local file for reading: its descriptor (the caller closes it) and its size.
    private func openLocalFile(_ path: String) throws(SSHError) -> (descriptor: Int32, size: Int) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SSHError(
                .localFileUnreadable, host: settings.endpoint,
                detail: "cannot open \(path): \(SystemCallError(call: "open", errno: errno))")
        }
        var info = stat()
        fstat(descriptor, &info)
        return (descriptor, Int(info.st_size))
    }

    /// `/a`, `/a/b`, `/a/b/c` for `/a/b/c`.
    static func ancestors(of directory: String) -> [String] {
        var paths: [String] = []
        var current = ""
        for component in directory.split(separator: "/") {
            current += "/\(component)"
            paths.append(current)
        }
        return paths
    }

    /// The SHA-256 of the first `size` bytes of an open file, in lowercase hex; nil when it cannot be read.
    static func sha256(of descriptor: Int32, size: Int) async -> String? {
        var hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
        defer { buffer.deallocate() }
        var offset = 0
        while offset < size {
            let got = pread(descriptor, buffer.baseAddress, min(buffer.count, size - offset), off_t(offset))
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { return nil }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            offset += got
        }
        return Hex.encode(hasher.finalize())
    }
}
