#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Directory operations on the local file system, without Foundation.
enum LocalDirectory {
    /// The names in `path`, without `.` and `..`.
    static func entries(_ path: String) throws(SystemCallError) -> [String] {
        guard let directory = opendir(path) else { throw SystemCallError(call: "opendir \(path)", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Creates `path` and any missing parents with `mode`; an existing directory is fine.
    static func create(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, mode) != 0 && errno != EEXIST {
                throw SystemCallError(call: "mkdir \(prefix)", errno: errno)
            }
        }
    }

    /// Flushes the directory itself, so that renames and unlinks in it survive a crash.
    static func sync(_ path: String) throws(SystemCallError) {
        let fd = try systemCall("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        _ = try systemCall("fsync \(path)") { fsync(fd) }
    }
}
