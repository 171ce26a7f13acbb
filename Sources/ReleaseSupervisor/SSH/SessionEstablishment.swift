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
            let verifier = try HostKeyVerifier(settings: settings, logger: logger)
            preferKnownKeyTypes(session, verifier)
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
            try verifyHostKey(session, verifier)
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

    /// Asks for the key types known_hosts holds for this host first, as OpenSSH does, so that a host known by
    /// its ecdsa key is not reported as changed because it also offers ed25519.
    private func preferKnownKeyTypes(_ session: SessionHandle, _ verifier: HostKeyVerifier) {
        let known = verifier.knownKeyTypes.filter(Self.supportedHostKeyAlgorithms.contains)
        guard !known.isEmpty else { return }
        let order = known + Self.supportedHostKeyAlgorithms.filter { !known.contains($0) }
        _ = session.preferHostKeyAlgorithms(order.joined(separator: ","))
    }

    private func verifyHostKey(_ session: SessionHandle, _ verifier: HostKeyVerifier) throws(SSHError) {
        guard let (key, type) = session.hostKey() else {
            throw SSHError(.handshakeFailed, host: settings.endpoint, detail: "the server sent no host key")
        }
        try verifier.verify(keyType: hostKeyTypeName(type), key: key)
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
