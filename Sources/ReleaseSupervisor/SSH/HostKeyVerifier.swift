import Logging

/// Checks the key a server offered under the host-key policy, against the pinned and the learned known_hosts
/// files, and records a new key under `accept-new`. Its errors name the host, the file and line of the key it
/// holds, the fingerprint offered and what to do.
struct HostKeyVerifier {
    let settings: SSHSettings
    let logger: Logger
    private let files: KnownHostsFiles

    /// Reads the files `settings` names.
    ///
    /// - Throws: `SSHError` `.knownHostsUnusable` when a file exists but cannot be read.
    init(settings: SSHSettings, logger: Logger) throws(SSHError) {
        self.settings = settings
        self.logger = logger
        do {
            files = try KnownHostsFiles.load(
                pinnedPath: settings.knownHostsPath, learnedPath: settings.learnedKnownHostsPath)
        } catch {
            throw SSHError(
                .knownHostsUnusable, host: settings.endpoint,
                detail: "cannot read known_hosts (\(error)); check the file's permissions and size")
        }
    }

    /// The key types the files hold for the host, in the order to ask the server for them.
    var knownKeyTypes: [String] { files.knownKeyTypes(host: settings.address, port: settings.port) }

    /// Accepts the key, records it (`accept-new`, a host neither file names), or throws why not.
    func verify(keyType: String, key: [UInt8]) throws(SSHError) {
        let offered = "\(keyType) key \(KnownHosts.fingerprint(key))"
        if settings.hostKeyPolicy == .off {
            logger.warning(
                "host key not verified (host_key_policy = off)",
                metadata: ["host": "\(settings.endpoint)", "key": "\(offered)"])
            return
        }
        let decision = files.decide(host: settings.address, port: settings.port, keyType: keyType, key: key)
        switch decision {
        case .known:
            return
        case .unknown where settings.hostKeyPolicy == .acceptNew:
            try learn(keyType: keyType, key: key, offered: offered)
        default:
            throw refusal(decision, offered: offered)
        }
    }

    /// Records the key in the learned file, deciding again on that file as it is under its lock: another
    /// connection may have recorded a key for the host since it was read.
    private func learn(keyType: String, key: [UInt8], offered: String) throws(SSHError) {
        let path = files.learnedPath
        let line = KnownHosts.line(host: settings.address, port: settings.port, keyType: keyType, key: key)
        var decision = KnownHostsFiles.Decision.unknown
        do {
            try KnownHostsWriter.update(path) { current in
                decision = files.replacingLearned(with: KnownHosts.parse(current))
                    .decide(host: settings.address, port: settings.port, keyType: keyType, key: key)
                return decision == .unknown ? line : nil
            }
        } catch {
            throw SSHError(
                .knownHostsUnusable, host: settings.endpoint,
                detail: "cannot record \(offered) in \(path) (\(error)); the daemon's user must be able to create "
                    + "files in its directory (under systemd: daemon.state_dir, the unit's StateDirectory=)")
        }
        switch decision {
        case .unknown:
            logger.notice(
                "learned a new host key (host_key_policy = accept-new)",
                metadata: ["host": "\(settings.endpoint)", "key": "\(offered)", "file": "\(path)"])
        case .known:
            return
        default:
            throw refusal(decision, offered: offered)
        }
    }

    private func refusal(_ decision: KnownHostsFiles.Decision, offered: String) -> SSHError {
        let name = KnownHosts.lookupName(host: settings.address, port: settings.port)
        switch decision {
        case .revoked(let path, let entry):
            return SSHError(
                .hostKeyRevoked, host: settings.endpoint,
                detail: "the server offered \(offered), which \(path):\(entry.line) marks @revoked; refusing to "
                    + "connect. Give the host a new key; if the line is a mistake, remove it from \(path)")
        case .changed(let path, let known, let learned):
            let held = known.map { "\($0.keyType) \(KnownHosts.fingerprint($0.key)) (\(path):\($0.line))" }
            var detail =
                "HOST KEY CHANGED: the server offered \(offered) but \(path) holds "
                + held.joined(separator: ", ") + " for \(name); someone may be intercepting the connection. "
            if files.learned != nil && path == files.learnedPath {
                // ssh-keygen -R rewrites the file as its caller: run as root, it leaves a file the daemon cannot read.
                detail +=
                    "That key was learned under accept-new. If the host was reinstalled, verify the new key, then "
                    + "run as the daemon's user (under the unit: runuser -u controlnode -- "
                    + "\(Self.removeCommand(name, path))) and connect again"
            } else {
                if let learned {
                    detail += "The offered key is at \(files.learnedPath):\(learned.line), but a pinned key wins. "
                } else if files.learned != nil {
                    detail += "Keys learned in \(files.learnedPath) never replace a pinned key. "
                }
                detail +=
                    "If the host was reinstalled, verify the new key, then run \(Self.removeCommand(name, path)) "
                    + "and pin the new key there"
            }
            return SSHError(.hostKeyChanged, host: settings.endpoint, detail: detail)
        case .unknown, .known:
            let searched =
                files.learned == nil
                ? "not in \(settings.knownHostsPath)"
                : "neither \(settings.knownHostsPath) nor \(files.learnedPath) holds it"
            return SSHError(
                .hostKeyUnknown, host: settings.endpoint,
                detail: "unknown host key \(offered) for \(name); \(searched). Verify the fingerprint and pin it "
                    + "(ssh-keyscan -p \(settings.port) \(settings.address) >> \(settings.knownHostsPath)), "
                    + "or set host_key_policy = accept-new")
        }
    }

    /// The command that removes the host's lines from `path`.
    private static func removeCommand(_ name: String, _ path: String) -> String {
        "ssh-keygen -R \(ShellQuote.quote(name)) -f \(ShellQuote.quote(path))"
    }
}
