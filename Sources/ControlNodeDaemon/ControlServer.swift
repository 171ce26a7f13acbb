import Dispatch
import FoundationEssentials
import Logging
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's control socket: a Unix stream socket (mode 0660, group `controlnode` when that group
/// exists) on which the CLI sends one JSON request line and reads one JSON response line.
///
/// Callers that are neither root, nor the daemon's own user, nor in the socket's group are refused, by their
/// credentials (SO_PEERCRED). One thread accepts; each request is answered by a task. `close()` stops it.
final class ControlServer: @unchecked Sendable {
    // @unchecked: `listener` is set once in init and only closed by `close()`; the thread reads it only.
    private let listener: Int32
    private let path: String
    private let group: gid_t
    private let logger: Logger
    private let handle: @Sendable (ControlRequest, Requester) async -> ControlAnswer

    init(
        path: String, logger: Logger, handle: @escaping @Sendable (ControlRequest, Requester) async -> ControlAnswer
    ) throws {
        self.path = path
        self.logger = logger
        self.handle = handle
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError("cannot create the control socket: errno \(errno)") }
        func close(_ descriptor: Int32) { _ = Glibc.close(descriptor) }
        unlink(path)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw ControlError("the control socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let error = errno
            close(fd)
            throw ControlError(
                "cannot listen on \(path): \(String(cString: strerror(error))); does its directory exist and may controlnode write there?")
        }
        let controlGroup = getgrnam("controlnode")
        group = controlGroup?.pointee.gr_gid ?? getegid()
        // Under the unit the socket already has the group (it is the daemon's own), and chown is outside
        // the unit's system call filter: only a daemon started by hand as root changes it.
        var info = stat()
        if controlGroup != nil, stat(path, &info) == 0, info.st_gid != group { _ = chown(path, geteuid(), group) }
        chmod(path, 0o660)
        listener = fd
    }

    /// Accepts and answers requests on a thread of its own until `close()`.
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread: pthread_t = 0
        if pthread_create(&thread, nil, { argument in
            let server = Unmanaged<ControlServer>.fromOpaque(argument!).takeRetainedValue()
            server.acceptLoop()
            return nil
        }, box) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<ControlServer>.fromOpaque(box).release()
        }
    }

    /// Stops accepting: the accept thread ends, the socket file is removed.
    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        unlink(path)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            serve(client)
        }
    }

    private func serve(_ client: Int32) {
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(client, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, allowed(credentials) else {
            logger.warning(
                "control socket: caller refused", metadata: ["uid": "\(credentials.uid)", "event": "control_refused"])
            reply(client, ControlResponse(
                ok: false, error: "permission denied: run as root or as a member of the controlnode group"))
            return
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let line = readLine(client), let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line)) else {
            reply(client, ControlResponse(ok: false, error: "malformed request"))
            return
        }
        if request.isMutating {
            logger.notice(
                "control request",
                metadata: [
                    "uid": "\(credentials.uid)", "command": "\(request.command)", "release": "\(request.release ?? "")",
                    "host": "\(request.host ?? "")", "event": "control_request",
                ])
        }
        let handle = self.handle
        let requester = Requester(
            uid: credentials.uid, user: getpwuid(credentials.uid).map { String(cString: $0.pointee.pw_name) })
        // One task per request; it owns the client socket and closes it after replying.
        Task {
            let answer = await handle(request, requester)
            if let updates = answer.updates {
                // A followed rollout: a line per update, never waiting for the caller. One that lets the socket's
                // buffer fill (a thousand lines or so unread) is dropped: its stream ends, the rollout goes on.
                if Self.send(client, answer.response, close: false, waiting: false) {
                    for await update in updates
                    where !Self.send(client, .following(update), close: false, waiting: false) { break }
                }
                Glibc.close(client)
                return
            }
            guard let release = answer.heldUntilClosed else {
                Self.send(client, answer.response)
                return
            }
            // A held answer (a tunnel) lasts as long as the caller keeps the connection: wait for its end of
            // file on a Dispatch thread, then release what was held.
            Self.send(client, answer.response, close: false)
            DispatchQueue.global().async {
                var timeout = timeval(tv_sec: 0, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var byte: UInt8 = 0
                while read(client, &byte, 1) > 0 {}
                Glibc.close(client)
                Task { await release() }
            }
        }
    }

    private func allowed(_ credentials: PeerCredentials) -> Bool {
        if credentials.uid == 0 || credentials.uid == geteuid() || credentials.gid == group { return true }
        guard let user = getpwuid(credentials.uid) else { return false }
        var groups = [gid_t](repeating: 0, count: 64)
        var count = Int32(groups.count)
        guard getgrouplist(user.pointee.pw_name, credentials.gid, &groups, &count) >= 0 else { return false }
        return groups.prefix(Int(count)).contains(group)
    }

    private func readLine(_ client: Int32) -> [UInt8]? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.count < 65536 {
            let count = read(client, &byte, 1)
            if count <= 0 { return line.isEmpty ? nil : line }
            if byte == 10 { return line }
            line.append(byte)
        }
        return nil
    }

    private func reply(_ client: Int32, _ response: ControlResponse) { Self.send(client, response) }

    /// Writes one response line; false when the caller is gone or, without `waiting`, when its socket's buffer is
    /// full (it stopped reading).
    @discardableResult
    private static func send(
        _ client: Int32, _ response: ControlResponse, close: Bool = true, waiting: Bool = true
    ) -> Bool {
        let bytes = (try? JSONEncoder.line(response)) ?? Array("{\"ok\":false}\n".utf8)
        let flags = Int32(MSG_NOSIGNAL) | (waiting ? 0 : Int32(MSG_DONTWAIT))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes {
                Glibc.send(client, $0.baseAddress! + offset, $0.count - offset, flags)
            }
            if count <= 0 { break }
            offset += count
        }
        if close { Glibc.close(client) }
        return offset == bytes.count
    }
}

/// A response, and what the request holds open until the caller disconnects (a tunnel), or the lines that follow
/// it (a followed rollout).
struct ControlAnswer: Sendable {
    var response: ControlResponse
    var heldUntilClosed: (@Sendable () async -> Void)?
    var updates: AsyncStream<RolloutUpdate>?

    init(_ response: ControlResponse, heldUntilClosed: (@Sendable () async -> Void)? = nil) {
        self.response = response
        self.heldUntilClosed = heldUntilClosed
    }

    /// `response`, then a line for each update of a rollout until it ends.
    init(_ response: ControlResponse, following updates: AsyncStream<RolloutUpdate>) {
        self.response = response
        self.updates = updates
    }
}

/// `struct ucred` of SO_PEERCRED (Glibc's Swift module hides it behind _GNU_SOURCE): pid, uid, gid.
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// The control socket could not be set up.
struct ControlError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
