import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Connects, shakes hands, verifies the host key and authenticates, on the session thread, in libssh2's
/// blocking mode bounded by the connect timeout; leaves the session non-blocking for the loop.
struct SessionEstablishment {
    let settings: SSHSettings
    let logger: Logger
    let traffic: UnsafeMutablePointer<TrafficRecord>

    /// Host key algorithms libssh2 1.10 can verify, in its own order of preference.
    private static let supportedHostKeyAlgorithms = [
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
    ]

    func run() throws(SSHError) -> (session: SessionHandle, socket: Int32, methods: String) {
        let started = ContinuousClock.now
        let socket: Int32
        do {
            socket = try TCPConnector.connect(host: settings.address, port: settings.port, timeout: settings.connectTimeout)
        } catch {
            throw SSHError(.connectFailed, host: settings.endpoint, detail: error.description)
        }
        guard let session = SessionHandle.make(traffic: traffic) else {
            close(socket)
            throw SSHError(.connectFailed, host: settings.endpoint, detail: "libssh2 could not allocate a session")
        }
        do throws(SSHError) {
            let remaining = settings.connectTimeout - (ContinuousClock.now - started)
            session.setBlocking(true)
            session.setTimeout(milliseconds: Int(max(remaining.nanoseconds / 1_000_000, 1)))
            let knownHosts = try loadKnownHosts()
            preferKnownKeyTypes(session, knownHosts)
            let rc = session.handshake(socket: socket)
            guard rc == 0 else {
                let (code, message) = session.lastError
                let detail =
                    LibSSH2Code.isHandshakeTimeout(code)
                    ? "SSH handshake timed out or the server does not speak SSH on this port"
                    : "SSH handshake failed"
                throw SSHError(.handshakeFailed, host: settings.endpoint, detail: detail, libssh2Code: code,
                    libssh2Message: message)
            }
            try verifyHostKey(session, knownHosts)
            try authenticate(session)
            session.setTimeout(milliseconds: 0)
            session.setBlocking(false)
            logger.debug(
                "SSH connected", metadata: ["host": "\(settings.endpoint)", "methods": "\(session.negotiatedMethods())"])
            return (session, socket, session.negotiatedMethods())
        } catch {
            _ = session.free()
            close(socket)
            throw error
        }
    }

    private func loadKnownHosts() throws(SSHError) -> KnownHosts {
        do {
            return KnownHosts(contents: try LocalFile.readTextIfPresent(settings.knownHostsPath) ?? "")
        } catch {
            throw SSHError(
                .knownHostsUnusable, host: settings.endpoint,
                detail: "cannot read known_hosts \(settings.knownHostsPath): \(error); check its permissions")
        }
    }

    /// Asks for the key types known_hosts holds for this host first, as OpenSSH does, so that a host known by
    /// its ecdsa key is not reported as changed because it also offers ed25519.
    private func preferKnownKeyTypes(_ session: SessionHandle, _ knownHosts: KnownHosts) {
        let known = knownHosts.knownKeyTypes(host: settings.address, port: settings.port)
            .filter(Self.supportedHostKeyAlgorithms.contains)
        guard !known.isEmpty else { return }
        let order = known + Self.supportedHostKeyAlgorithms.filter { !known.contains($0) }
        _ = session.preferHostKeyAlgorithms(order.joined(separator: ","))
    }

    private func verifyHostKey(_ session: SessionHandle, _ knownHosts: KnownHosts) throws(SSHError) {
        guard let (key, type) = session.hostKey() else {
            throw SSHError(.handshakeFailed, host: settings.endpoint, detail: "the server sent no host key")
        }
        let typeName = hostKeyTypeName(type)
        let fingerprint = KnownHosts.fingerprint(key)
        let offered = "\(typeName) key \(fingerprint)"
        let file = settings.knownHostsPath
        if settings.hostKeyPolicy == .off {
            logger.warning(
                "host key not verified (host_key_policy = off)",
                metadata: ["host": "\(settings.endpoint)", "key": "\(offered)"])
            return
        }
        switch knownHosts.verdict(host: settings.address, port: settings.port, keyType: typeName, key: key) {
        case .known:
            return
        case .revoked:
            throw SSHError(
                .hostKeyRevoked, host: settings.endpoint,
                detail: "the server offered \(offered), which \(file) marks @revoked; refusing to connect")
        case .changed(let known):
            throw SSHError(
                .hostKeyChanged, host: settings.endpoint,
                detail: "HOST KEY CHANGED: the server offered \(offered) but \(file) holds "
                    + known.joined(separator: ", ")
                    + "; if the host was reinstalled, verify the new key and replace the old line")
        case .unknown where settings.hostKeyPolicy == .acceptNew:
            do {
                let line = KnownHosts.line(host: settings.address, port: settings.port, keyType: typeName, key: key)
                try LocalFile.append(line, to: file)
            } catch {
                throw SSHError(
                    .knownHostsUnusable, host: settings.endpoint,
                    detail: "cannot add \(offered) to \(file): \(error)")
            }
            logger.notice("added new host key to known_hosts", metadata: ["host": "\(settings.endpoint)", "key": "\(offered)"])
        case .unknown:
            throw SSHError(
                .hostKeyUnknown, host: settings.endpoint,
                detail: "unknown host key \(offered); not in \(file). Verify the fingerprint and add it "
                    + "(ssh-keyscan -p \(settings.port) \(settings.address) >> \(file)), or set host_key_policy = accept-new")
        }
    }

    private func authenticate(_ session: SessionHandle) throws(SSHError) {
        switch settings.authentication {
        case .keyFile(let path, let passphraseFile):
            var passphrase: String?
            if let passphraseFile {
                do {
                    passphrase = String(decoding: try LocalFile.read(passphraseFile, limit: 4096), as: UTF8.self)
                    while passphrase?.last == "\n" || passphrase?.last == "\r" { passphrase?.removeLast() }
                } catch {
                    throw SSHError(
                        .keyFileUnusable, host: settings.endpoint,
                        detail: "cannot read passphrase file \(passphraseFile): \(error)")
                }
            }
            let rc = session.authenticate(user: settings.user, privateKeyPath: path, passphrase: passphrase)
            guard rc != 0 else { return }
            let (code, message) = session.lastError
            if code == LibSSH2Code.file {
                throw SSHError(
                    .keyFileUnusable, host: settings.endpoint,
                    detail: "cannot use private key \(path): unreadable, not an ed25519/ecdsa key, or wrong passphrase",
                    libssh2Code: code, libssh2Message: message)
            }
            throw SSHError(
                .authenticationFailed, host: settings.endpoint,
                detail: "the server refused key \(path) for user \(settings.user); check authorized_keys on the host",
                libssh2Code: code, libssh2Message: message)
        case .agent(let socketPath):
            let (rc, step) = session.authenticateWithAgent(user: settings.user, socketPath: socketPath)
            guard rc != 0 else { return }
            let (code, message) = session.lastError
            if step == "connect" || step == "init" || step == "list identities" {
                throw SSHError(
                    .agentUnavailable, host: settings.endpoint,
                    detail: "cannot use ssh-agent (\(step) failed); is SSH_AUTH_SOCK set and the agent running?",
                    libssh2Code: code, libssh2Message: message)
            }
            throw SSHError(
                .authenticationFailed, host: settings.endpoint,
                detail: "the server refused every ssh-agent identity for user \(settings.user)",
                libssh2Code: code, libssh2Message: message)
        }
    }
}
