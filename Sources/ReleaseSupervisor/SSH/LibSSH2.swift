import CSSH2

#if canImport(Glibc)
import Glibc
#endif

// Every raw libssh2 call of the library lives in this file, behind small Swift types. The handles
// are plain values: the session loop that created them is their one owner and frees each exactly once.

/// `libssh2_init` runs once per process, on first use.
private let libssh2Initialized: Int32 = libssh2_init(0)

/// Result codes of libssh2 that the SSH layer acts on.
enum LibSSH2Code {
    static let wouldBlock = Int32(LIBSSH2_ERROR_EAGAIN)
    static let sftpProtocol = Int32(LIBSSH2_ERROR_SFTP_PROTOCOL)
    static let channelFailure = Int32(LIBSSH2_ERROR_CHANNEL_FAILURE)
    static let file = Int32(LIBSSH2_ERROR_FILE)

    /// Whether a failed handshake timed out or read no SSH banner: a host that accepts TCP but never speaks SSH.
    static func isHandshakeTimeout(_ code: Int32) -> Bool {
        code == Int32(LIBSSH2_ERROR_TIMEOUT) || code == Int32(LIBSSH2_ERROR_SOCKET_TIMEOUT)
            || code == Int32(LIBSSH2_ERROR_BANNER_RECV)
    }

    /// Whether `code` means the transport itself is gone: the session cannot be used any more.
    static func isTransportFailure(_ code: Int32) -> Bool {
        switch code {
        case Int32(LIBSSH2_ERROR_SOCKET_SEND), Int32(LIBSSH2_ERROR_SOCKET_RECV),
            Int32(LIBSSH2_ERROR_SOCKET_DISCONNECT), Int32(LIBSSH2_ERROR_SOCKET_TIMEOUT),
            Int32(LIBSSH2_ERROR_TIMEOUT), Int32(LIBSSH2_ERROR_DECRYPT), Int32(LIBSSH2_ERROR_KEX_FAILURE),
            Int32(LIBSSH2_ERROR_BANNER_RECV), Int32(LIBSSH2_ERROR_BANNER_SEND), Int32(LIBSSH2_ERROR_PROTO),
            Int32(LIBSSH2_ERROR_INVALID_MAC), Int32(LIBSSH2_ERROR_ALLOC):
            true
        default:
            false
        }
    }

    /// SFTP status codes (SSH_FX_*) as words a sysadmin knows.
    static func sftpStatusText(_ status: UInt) -> String {
        switch Int32(truncatingIfNeeded: status) as Int32 {
        case Int32(LIBSSH2_FX_NO_SUCH_FILE), Int32(LIBSSH2_FX_NO_SUCH_PATH): "no such file or directory"
        case Int32(LIBSSH2_FX_PERMISSION_DENIED): "permission denied"
        case Int32(LIBSSH2_FX_FAILURE): "failure (on OpenSSH often: disk full, or the target exists)"
        case Int32(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM): "no space left on the file system"
        case Int32(LIBSSH2_FX_QUOTA_EXCEEDED): "quota exceeded"
        case Int32(LIBSSH2_FX_FILE_ALREADY_EXISTS): "file already exists"
        case Int32(LIBSSH2_FX_WRITE_PROTECT): "file system is read-only"
        case Int32(LIBSSH2_FX_NOT_A_DIRECTORY): "not a directory"
        case Int32(LIBSSH2_FX_CONNECTION_LOST): "connection lost"
        default: "SFTP status \(status)"
        }
    }

    static let sftpNoSuchFile = UInt(LIBSSH2_FX_NO_SUCH_FILE)
}

/// A libssh2 session in non-blocking mode after `connect`.
struct SessionHandle {
    let raw: OpaquePointer

    /// Creates a session whose receive hook records traffic into `traffic`.
    static func make(traffic: UnsafeMutablePointer<TrafficRecord>) -> SessionHandle? {
        _ = libssh2Initialized
        // The hook reads the record through the abstract pointer; `raw` is the struct's only stored property.
        let abstract = UnsafeMutableRawPointer(traffic)
        guard let raw = libssh2_session_init_ex(nil, nil, nil, abstract) else { return nil }
        cssh2_install_receive_hook(raw)
        return SessionHandle(raw: raw)
    }

    func setBlocking(_ blocking: Bool) { libssh2_session_set_blocking(raw, blocking ? 1 : 0) }
    func setTimeout(milliseconds: Int) { libssh2_session_set_timeout(raw, milliseconds) }

    /// Restricts host key algorithms to `list` (comma-separated, most preferred first).
    func preferHostKeyAlgorithms(_ list: String) -> Int32 {
        libssh2_session_method_pref(raw, LIBSSH2_METHOD_HOSTKEY, list)
    }

    func handshake(socket: Int32) -> Int32 { libssh2_session_handshake(raw, socket) }

    /// The server's host key blob and its libssh2 type.
    func hostKey() -> (blob: [UInt8], type: Int32)? {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(raw, &length, &type) else { return nil }
        return (Array(UnsafeRawBufferPointer(start: key, count: length)), type)
    }

    func authenticate(user: String, privateKeyPath: String, passphrase: String?) -> Int32 {
        libssh2_userauth_publickey_fromfile_ex(
            raw, user, UInt32(user.utf8.count), nil, privateKeyPath, passphrase)
    }

    /// Tries every identity of the ssh-agent at `socketPath` (or `SSH_AUTH_SOCK`) in turn.
    func authenticateWithAgent(user: String, socketPath: String?) -> (code: Int32, step: String) {
        guard let agent = libssh2_agent_init(raw) else { return (Int32(LIBSSH2_ERROR_ALLOC), "init") }
        defer { libssh2_agent_free(agent) }
        if let socketPath { libssh2_agent_set_identity_path(agent, socketPath) }
        var rc = libssh2_agent_connect(agent)
        guard rc == 0 else { return (rc, "connect") }
        defer { libssh2_agent_disconnect(agent) }
        rc = libssh2_agent_list_identities(agent)
        guard rc == 0 else { return (rc, "list identities") }
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
        var lastFailure = Int32(LIBSSH2_ERROR_AUTHENTICATION_FAILED)
        while libssh2_agent_get_identity(agent, &identity, previous) == 0, let current = identity {
            if libssh2_agent_userauth(agent, user, current) == 0 { return (0, "") }
            lastFailure = lastErrorCode
            previous = current
        }
        return (lastFailure, "authenticate")
    }

    /// The negotiated key exchange, host key, cipher and MAC (client to server).
    func negotiatedMethods() -> String {
        let kinds = [LIBSSH2_METHOD_KEX, LIBSSH2_METHOD_HOSTKEY, LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_MAC_CS]
        return kinds.map { libssh2_session_methods(raw, $0).map { String(cString: $0) } ?? "?" }.joined(separator: " ")
    }

    func blockDirections() -> (inbound: Bool, outbound: Bool) {
        let directions = libssh2_session_block_directions(raw)
        return (
            directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0, directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
        )
    }

    var lastErrorCode: Int32 { libssh2_session_last_errno(raw) }

    /// The last error's code and libssh2's text for it.
    var lastError: (code: Int32, message: String) {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(raw, &message, &length, 0)
        return (code, message.map { String(cString: $0) } ?? "")
    }

    /// Opens a channel of `type` (a "session" channel, or a probe of a type the server refuses).
    func openChannel(type: String) -> ChannelHandle? {
        libssh2_channel_open_ex(
            raw, type, UInt32(type.utf8.count), cssh2_channel_window_default, cssh2_channel_packet_default, nil, 0
        ).map(ChannelHandle.init)
    }

    /// Opens a direct-tcpip channel to `host`:`port` as seen from the server.
    func openDirectTCPIP(host: String, port: UInt16) -> ChannelHandle? {
        libssh2_channel_direct_tcpip_ex(raw, host, Int32(port), "127.0.0.1", 0).map(ChannelHandle.init)
    }

    func startSFTP() -> SFTPHandle? { libssh2_sftp_init(raw).map(SFTPHandle.init) }

    func disconnect() -> Int32 { libssh2_session_disconnect_ex(raw, SSH_DISCONNECT_BY_APPLICATION, "closing", "") }

    func free() -> Int32 { libssh2_session_free(raw) }
}

/// A libssh2 channel: an exec session or a direct-tcpip stream.
struct ChannelHandle {
    let raw: OpaquePointer

    func exec(_ command: String) -> Int32 {
        libssh2_channel_process_startup(raw, "exec", 4, command, UInt32(command.utf8.count))
    }

    /// Reads into `buffer` from stdout (stream 0) or stderr (stream 1).
    func read(stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        libssh2_channel_read_ex(raw, stream, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> Int {
        libssh2_channel_write_ex(raw, 0, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
    }

    /// Asks for a PTY of `terminal` type (`TERM`) and size, with the server's default terminal modes.
    func requestPTY(terminal: String, columns: Int, rows: Int) -> Int32 {
        libssh2_channel_request_pty_ex(
            raw, terminal, UInt32(terminal.utf8.count), nil, 0, Int32(columns), Int32(rows), 0, 0)
    }

    /// Tells the server the PTY's new size (a window-change request, no reply awaited).
    func resizePTY(columns: Int, rows: Int) -> Int32 {
        libssh2_channel_request_pty_size_ex(raw, Int32(columns), Int32(rows), 0, 0)
    }

    /// Delivers stderr as stdout (a PTY has one output stream; this keeps a stray extended packet from piling up).
    func mergeStandardError() {
        _ = libssh2_channel_handle_extended_data2(raw, LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE)
    }

    func sendEOF() -> Int32 { libssh2_channel_send_eof(raw) }
    var receivedEOF: Bool { libssh2_channel_eof(raw) == 1 }
    /// Whether stdout data for this channel waits in libssh2's packet queue (no socket read).
    var hasQueuedData: Bool { libssh2_poll_channel_read(raw, 0) == 1 }
    func close() -> Int32 { libssh2_channel_close(raw) }
    func waitClosed() -> Int32 { libssh2_channel_wait_closed(raw) }
    func free() -> Int32 { libssh2_channel_free(raw) }
    var exitStatus: Int32 { libssh2_channel_get_exit_status(raw) }

    /// The name of the signal that ended the remote command, if one did.
    var exitSignal: String? {
        var name: UnsafeMutablePointer<CChar>?
        var length = 0
        guard libssh2_channel_get_exit_signal(raw, &name, &length, nil, nil, nil, nil) == 0, let name else {
            return nil
        }
        defer { Glibc.free(name) }
        return String(cString: name)
    }
}

/// An SFTP subsystem channel.
struct SFTPHandle {
    let raw: OpaquePointer

    var lastStatus: UInt { libssh2_sftp_last_error(raw) }

    /// Whether `path` exists, and whether it is a directory; nil with the SFTP status when the stat failed.
    func stat(_ path: String) -> (code: Int32, isDirectory: Bool) {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let rc = libssh2_sftp_stat_ex(raw, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes)
        let directory =
            attributes.flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0
            && attributes.permissions & UInt(LIBSSH2_SFTP_S_IFMT) == UInt(LIBSSH2_SFTP_S_IFDIR)
        return (rc, directory)
    }

    func makeDirectory(_ path: String, mode: Int) -> Int32 {
        libssh2_sftp_mkdir_ex(raw, path, UInt32(path.utf8.count), mode)
    }

    /// Creates `path` for writing; fails if it exists, so a stale file is never reused.
    func createFile(_ path: String, mode: Int) -> SFTPFileHandle? {
        let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL)
        return libssh2_sftp_open_ex(raw, path, UInt32(path.utf8.count), flags, mode, LIBSSH2_SFTP_OPENFILE)
            .map(SFTPFileHandle.init)
    }

    func unlink(_ path: String) -> Int32 { libssh2_sftp_unlink_ex(raw, path, UInt32(path.utf8.count)) }
    func shutdown() -> Int32 { libssh2_sftp_shutdown(raw) }
}

/// An open remote file.
struct SFTPFileHandle {
    let raw: OpaquePointer

    /// Sends `buffer` as pipelined write requests; returns the bytes the server acknowledged.
    func write(_ buffer: UnsafeRawBufferPointer) -> Int {
        libssh2_sftp_write(raw, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
    }

    func close() -> Int32 { libssh2_sftp_close_handle(raw) }
}

/// The monotonic clock the receive hook stamps (CLOCK_MONOTONIC), in nanoseconds.
func monotonicNanoseconds() -> Int64 { MonotonicClock.nanoseconds() }

/// When a session last received bytes from the server; the session's receive hook updates it.
struct TrafficRecord {
    fileprivate var raw: cssh2_traffic

    init(lastReceive: Int64) { raw = cssh2_traffic(last_receive_ns: lastReceive) }

    /// Monotonic nanoseconds of the last bytes received.
    var lastReceive: Int64 {
        get { raw.last_receive_ns }
        set { raw.last_receive_ns = newValue }
    }
}

/// libssh2's host key type as the name OpenSSH writes in known_hosts.
func hostKeyTypeName(_ type: Int32) -> String {
    switch type {
    case LIBSSH2_HOSTKEY_TYPE_ED25519: "ssh-ed25519"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: "ecdsa-sha2-nistp256"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: "ecdsa-sha2-nistp384"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: "ecdsa-sha2-nistp521"
    case LIBSSH2_HOSTKEY_TYPE_RSA: "ssh-rsa"
    case LIBSSH2_HOSTKEY_TYPE_DSS: "ssh-dss"
    default: "unknown"
    }
}
