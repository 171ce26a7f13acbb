#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Cookie {
    /// Reads a release's cookie from `path`: the first line, without surrounding whitespace.
    ///
    /// Like Erlang with `~/.erlang.cookie`, it refuses a file that group or others may read: the cookie lets anyone who
    /// reaches the node run code on it. The text must be 1 to 255 printable ASCII characters with no spaces,
    /// as Erlang reads a cookie file. The same rule serves `check-config` and the daemon (`SecretFileReference`).
    /// - Parameter subject: what the cookie is for, for messages (`release service_app`).
    /// - Throws: `ConfigurationError` naming the file and what to do.
    public init(contentsOfFile path: String, for subject: String) throws(ConfigurationError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ConfigurationError(
                subject, setting: "cookie file", "cannot read \(path): create it (mode 600) holding the cookie",
                underlyingError: SystemCallError(call: "stat", errno: errno))
        }
        guard info.st_mode & 0o077 == 0 else {
            throw ConfigurationError(
                subject, setting: "cookie file",
                "\(path) can be accessed by group or others (mode \(String(info.st_mode & 0o777, radix: 8))): "
                    + "run chmod 600 on it")
        }
        let bytes: [UInt8]
        do {
            bytes = try LocalFile.read(path, limit: 4096)
        } catch {
            throw ConfigurationError(
                subject, setting: "cookie file", "cannot read \(path): check its owner and mode",
                underlyingError: error)
        }
        let line = bytes.prefix { $0 != 10 && $0 != 13 }
        let text = line.drop { $0 == 32 || $0 == 9 }.reversed().drop { $0 == 32 || $0 == 9 }.reversed()
        guard !text.isEmpty, text.count <= 255, text.allSatisfy({ (33...126).contains($0) }) else {
            throw ConfigurationError(
                subject, setting: "cookie file",
                "\(path) must hold the cookie on its first line: 1 to 255 printable ASCII characters, no spaces")
        }
        self.init(String(decoding: text, as: UTF8.self))
    }
}
