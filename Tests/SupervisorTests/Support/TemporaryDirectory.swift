import Foundation

/// A directory under the system temporary directory (or `parent`), removed by `remove()`.
struct TemporaryDirectory: Sendable {
    let path: String

    init(prefix: String = "controlnode-test", parent: String? = nil) throws {
        // One clean absolute path (no "//"), as processes started there see it in /proc.
        var base = parent ?? NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError("mkdtemp failed: errno \(errno)") }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func write(_ name: String, _ contents: String, mode: Int16 = 0o600) throws {
        try contents.write(toFile: file(name), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file(name))
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
