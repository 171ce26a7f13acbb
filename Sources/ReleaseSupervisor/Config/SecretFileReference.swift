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

    /// Checks that every file exists, is a regular file and can be read, and that group and others have no
    /// access (as ssh and Erlang themselves insist): a warning, or an error when `strict`.
    static func check(_ references: [SecretFileReference], strict: Bool) throws(ConfigError) -> [ConfigWarning] {
        var warnings: [ConfigWarning] = []
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
            guard exposed != 0 else { continue }
            let mode = String(info.st_mode & 0o777, radix: 8)
            let problem = "\(reference.path) can be accessed by group or others (mode \(mode))"
            let remedy = "run chmod 600 \(reference.path)"
            if strict { throw reference.error(.insecurePermissions, problem, remedy: remedy) }
            warnings.append(
                ConfigWarning(
                    file: reference.file, line: reference.line, key: reference.key,
                    message: "\(problem); \(remedy) (strict_permissions = true makes this an error)"))
        }
        return warnings
    }

    private func error(_ code: ConfigError.Code, _ problem: String, remedy: String? = nil) -> ConfigError {
        ConfigError(code, file: file, line: line, key: key, problem: problem, remedy: remedy)
    }
}
