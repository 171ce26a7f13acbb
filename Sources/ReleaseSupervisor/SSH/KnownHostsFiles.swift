#if canImport(Glibc)
import Glibc
#endif

/// The known_hosts files a host key is checked against: the pinned file (configured; only ever read) and the file
/// `accept-new` records keys in (read too).
///
/// The two are kept apart because the unit's `ProtectSystem=strict` makes `/etc` read-only, so learned keys go to
/// the state directory. A learned key never overrides a pinned one: when the pinned file names a host, only its
/// keys count, whatever the learned file says, so a key learned during a man-in-the-middle cannot outlive the pin.
struct KnownHostsFiles: Sendable {
    /// A file's path and what it holds.
    struct File: Sendable {
        var path: String
        var contents: KnownHosts
    }

    /// What the files say about a key a server offered.
    enum Decision: Sendable, Equatable {
        /// A line holds the key for the host (and no pin contradicts it).
        case known
        /// A `@revoked` line names the key for the host.
        case revoked(path: String, entry: KnownHosts.Entry)
        /// The file at `path` holds other keys for the host: those lines. `learned` is the learned file's line
        /// holding the offered key, when a pin overrides it.
        case changed(path: String, known: [KnownHosts.Entry], learned: KnownHosts.Entry?)
        /// Neither file names the host.
        case unknown
    }

    /// The configured file.
    private(set) var pinned: File
    /// The file `accept-new` records keys in; nil when that is the pinned file itself.
    private(set) var learned: File?

    /// Where `accept-new` records keys.
    var learnedPath: String { learned?.path ?? pinned.path }

    /// Reads both files; a missing file holds nothing.
    ///
    /// - Throws: `SystemCallError` naming the file that could not be read.
    static func load(pinnedPath: String, learnedPath: String?) throws(SystemCallError) -> KnownHostsFiles {
        let pinned = File(path: pinnedPath, contents: try read(pinnedPath))
        guard let learnedPath, learnedPath != pinnedPath else { return KnownHostsFiles(pinned: pinned, learned: nil) }
        return KnownHostsFiles(pinned: pinned, learned: File(path: learnedPath, contents: try read(learnedPath)))
    }

    /// The same files with the learned one's contents replaced, as read again under its lock.
    func replacingLearned(with contents: KnownHosts) -> KnownHostsFiles {
        var files = self
        if learned != nil { files.learned?.contents = contents } else { files.pinned.contents = contents }
        return files
    }

    /// Judges a key the server at `host`:`port` offered: a revocation in either file refuses it; a host the pinned
    /// file names is judged by the pinned file alone; only then does the learned file count.
    func decide(host: String, port: UInt16, keyType: String, key: [UInt8]) -> Decision {
        let pinnedVerdict = pinned.contents.verdict(host: host, port: port, keyType: keyType, key: key)
        let learnedVerdict = learned?.contents.verdict(host: host, port: port, keyType: keyType, key: key)
        if case .revoked(let entry) = pinnedVerdict { return .revoked(path: pinned.path, entry: entry) }
        if let learned, case .revoked(let entry) = learnedVerdict { return .revoked(path: learned.path, entry: entry) }
        switch pinnedVerdict {
        case .known: return .known
        case .changed(let known):
            var overridden: KnownHosts.Entry?
            if case .known(let entry) = learnedVerdict { overridden = entry }
            return .changed(path: pinned.path, known: known, learned: overridden)
        case .unknown, .revoked: break
        }
        guard let learned, let learnedVerdict else { return .unknown }
        switch learnedVerdict {
        case .known: return .known
        case .changed(let known): return .changed(path: learned.path, known: known, learned: nil)
        case .unknown, .revoked: return .unknown
        }
    }

    /// The key types to ask the server for first: the pinned ones for the host, or else the learned ones.
    func knownKeyTypes(host: String, port: UInt16) -> [String] {
        let types = pinned.contents.knownKeyTypes(host: host, port: port)
        return types.isEmpty ? learned?.contents.knownKeyTypes(host: host, port: port) ?? [] : types
    }

    /// Files larger than this are refused rather than read in part: a part could leave a pinned host unnamed.
    static let sizeLimit = 16 << 20

    private static func read(_ path: String) throws(SystemCallError) -> KnownHosts {
        let bytes: [UInt8]
        do {
            bytes = try LocalFile.read(path, limit: sizeLimit + 1)
        } catch where error.errno == ENOENT {
            return KnownHosts()
        }
        guard bytes.count <= sizeLimit else { throw SystemCallError(call: "read \(path)", errno: EFBIG) }
        return KnownHosts.parse(bytes)
    }
}
