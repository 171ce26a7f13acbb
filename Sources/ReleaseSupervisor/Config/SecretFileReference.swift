#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A cookie, key or passphrase file the configuration names, remembered with its key and line so that
/// checking it on disk can report where it was configured.
struct SecretFileReference: Sendable, Equatable {
    var file: String
    var line: Int
    var key: String
    var path: String

    init(reader: TableReader, key: String, path: String) {
        file = reader.file
        line = reader.line(of: key)
        self.key = reader.keyPath(key)
        self.path = path
    }

    /// Checks that every file exists, is a regular file and can be read, that group and others have no access
    /// (as ssh and Erlang themselves insist), and that a cookie file holds a usable cookie: one rule, the
    /// daemon's, for `check-config` and the daemon alike.
    static func check(_ references: [SecretFileReference]) throws(ConfigError) -> [ConfigWarning] {
        let warnings: [ConfigWarning] = []
        for reference in references {
            var info = stat()
            let descriptor = open(reference.path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                let reason = String(cString: strerror(errno))
                throw reference.error(
                    .secretFileUnusable, "cannot read \(reference.path): \(reason)",
                    remedy: "create it (owned by the controlnode user, chmod 600) or correct the path")
            }
            defer { close(descriptor) }
            guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                throw reference.error(.secretFileUnusable, "\(reference.path) is not a regular file")
            }
            let exposed = info.st_mode & 0o077
            if exposed != 0 {
                let mode = String(info.st_mode & 0o777, radix: 8)
                throw reference.error(
                    .insecurePermissions, "\(reference.path) can be accessed by group or others (mode \(mode))",
                    remedy: "run chmod 600 \(reference.path)")
            }
            if reference.key.hasSuffix("cookie_file") {
                do {
                    _ = try Cookie(contentsOfFile: reference.path, for: reference.key)
                } catch {
                    throw reference.error(.secretFileUnusable, error.detail)
                }
            }
        }
        return warnings
    }

    private func error(_ code: ConfigError.Code, _ problem: String, remedy: String? = nil) -> ConfigError {
        ConfigError(code, file: file, line: line, key: key, problem: problem, remedy: remedy)
    }
}
