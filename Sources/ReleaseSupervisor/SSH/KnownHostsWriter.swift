#if canImport(Glibc)
import Glibc
#endif

/// Adds a line to a known_hosts file so that writers at the same time (threads, or two daemons) all keep
/// theirs, and a crash at any moment leaves the old file or the new one, never a part.
///
/// Writers take an exclusive `flock` on `<file>.lock` beside the file (not on the file itself: the rename below
/// replaces the file's inode, so a lock held on it would not exclude the next writer). Under the lock the file is
/// read, the caller decides on its current contents, and the new contents go to a temporary file in the same
/// directory, with the old file's mode, synced, then renamed over the file; the directory is synced last.
enum KnownHostsWriter {
    /// Under the lock, reads `path` (a missing file is empty) and passes its bytes to `decide`; when `decide`
    /// returns a line, replaces the file with its contents, a newline if they do not end with one, and the line.
    ///
    /// - Throws: `SystemCallError` naming the call and the path that failed; the file is then unchanged.
    static func update(_ path: String, _ decide: ([UInt8]) -> String?) throws(SystemCallError) {
        // The lock is named after the path as configured, so every writer of that path takes the same one.
        let lockPath = path + ".lock"
        let lock = try systemCall("open \(lockPath)") { open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        defer { close(lock) }
        // Blocking is fine on the session thread: a holder only reads and writes one small file.
        _ = try systemCall("flock \(lockPath)") { flock(lock, LOCK_EX) }

        let target = resolved(path)
        let (current, mode) = try readCurrent(target)
        guard let line = decide(current) else { return }
        var contents = current
        if let last = contents.last, last != UInt8(ascii: "\n") { contents.append(UInt8(ascii: "\n")) }
        contents += Array(line.utf8)
        try replace(target, with: contents, mode: mode)
    }

    /// The file's bytes and permission bits; a missing file is empty, with mode 0600.
    private static func readCurrent(_ path: String) throws(SystemCallError) -> ([UInt8], mode_t) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return ([], 0o600) }
        guard fd >= 0 else { throw SystemCallError(call: "open \(path)", errno: errno) }
        defer { close(fd) }
        var info = stat()
        _ = try systemCall("fstat \(path)") { fstat(fd, &info) }
        // Rewriting a part would drop the rest of the file: refuse instead.
        guard Int(info.st_size) <= KnownHostsFiles.sizeLimit else {
            throw SystemCallError(call: "read \(path)", errno: EFBIG)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = try systemCall("read \(path)") {
                chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            guard bytes.count <= KnownHostsFiles.sizeLimit else {
                throw SystemCallError(call: "read \(path)", errno: EFBIG)
            }
        }
        return (bytes, info.st_mode & 0o7777)
    }

    private static func replace(_ path: String, with contents: [UInt8], mode: mode_t) throws(SystemCallError) {
        let directory = directoryName(path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = "\(directory)/.\(name).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = try systemCall("open \(temporary)") {
            open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            // The umask (0077 under the unit) must not narrow a mode the administrator chose.
            _ = try systemCall("fchmod \(temporary)") { fchmod(fd, mode) }
            var written = 0
            while written < contents.count {
                written += try systemCall("write \(temporary)") {
                    contents.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
                }
            }
            _ = try systemCall("fsync \(temporary)") { fsync(fd) }
        }
        _ = try systemCall("rename \(temporary) to \(path)") { rename(temporary, path) }
        renamed = true
        try LocalDirectory.sync(directory)
    }

    /// The file a symbolic link points to, so that the rename replaces the file and not the link; else `path`.
    private static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    private static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
