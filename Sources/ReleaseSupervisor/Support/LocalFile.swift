#if canImport(Glibc)
import Glibc
#endif

/// Small whole-file reads and appends on the local file system, without Foundation.
enum LocalFile {
    /// Reads the whole file; at most `limit` bytes, so a wrong path to a huge file cannot exhaust memory.
    static func read(_ path: String, limit: Int = 16 << 20) throws(SystemCallError) -> [UInt8] {
        let fd = try systemCall("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 1)
        defer { chunk.deallocate() }
        while bytes.count < limit {
            let count = try systemCall("read \(path)") { Glibc.read(fd, chunk.baseAddress, chunk.count) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Reads a text file, or nil when it does not exist.
    static func readTextIfPresent(_ path: String) throws(SystemCallError) -> String? {
        do {
            return String(decoding: try read(path), as: UTF8.self)
        } catch where error.errno == ENOENT {
            return nil
        }
    }

    /// Appends `text` in one write, creating the file with `mode` if needed.
    static func append(_ text: String, to path: String, mode: mode_t = 0o600) throws(SystemCallError) {
        let fd = try systemCall("open \(path)") { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            written += try systemCall("write \(path)") {
                bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            }
        }
    }

    /// The file's size in bytes.
    static func size(_ path: String) throws(SystemCallError) -> Int {
        var info = stat()
        _ = try systemCall("stat \(path)") { stat(path, &info) }
        return Int(info.st_size)
    }
}
