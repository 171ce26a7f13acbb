import FoundationEssentials
import Logging
import ReleaseSupervisor
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's control socket: a Unix stream socket (mode 0660, group `controlnode` when that group
/// exists) on which the CLI sends one JSON request line and reads one JSON response line (or, for a followed
/// rollout, a line per update; a tunnel holds the connection open for as long as it lasts).
///
/// Callers that are neither root, nor the daemon's own user, nor in the socket's group are refused, by their
/// credentials (SO_PEERCRED). One thread accepts and checks credentials and admission (`ControlLimits`), and
/// does nothing that waits on a caller; each admitted caller is then served by a task of its own, within the
/// deadlines of `ControlConnection`. `close()` stops accepting and ends every connection.
final class ControlServer: Sendable {
    /// An admitted caller, handed from the accept thread to the serving task.
    private struct Caller: Sendable {
        var connection: ControlConnection
        /// Who it is, by SO_PEERCRED: recorded in the history of what it asks for.
        var requester: Requester
        /// Its uid, for the log.
        var uid: UInt32
        /// The connection's socket, owned by `connection`: a relay gets a duplicate of it.
        var descriptor: Int32
    }

    private let listener: Int32
    private let path: String
    private let group: gid_t
    private let logger: Logger
    private let handle: @Sendable (ControlRequest, Requester) async -> ControlAnswer
    private let admission = ControlAdmission()
    private let callers: AsyncStream<Caller>
    private let accepted: AsyncStream<Caller>.Continuation
    private let serving = Locked<Task<Void, Never>?>(nil)

    init(
        path: String, logger: Logger, handle: @escaping @Sendable (ControlRequest, Requester) async -> ControlAnswer
    ) throws {
        self.path = path
        self.logger = logger
        self.handle = handle
        (callers, accepted) = AsyncStream.makeStream(of: Caller.self)
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
        guard bound == 0, listen(fd, 64) == 0 else {
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

    /// Accepts on a thread of its own and serves each admitted caller in a task, until `close()`.
    func start() {
        let callers = self.callers
        serving.withLock { serving in
            serving = Task { [self] in
                await withDiscardingTaskGroup { group in
                    for await caller in callers {
                        group.addTask {
                            await self.serve(caller)
                            self.admission.leave(.client)
                        }
                    }
                    group.cancelAll()
                }
            }
        }
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

    /// Stops accepting and ends every connection (tunnels close, followers stop); the socket file is removed.
    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        unlink(path)
        accepted.finish()
        serving.withLock { $0?.cancel() }
    }

    private func acceptLoop() {
        var starved = false
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                switch errno {
                case EINTR, ECONNABORTED:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory for now: rest instead of spinning, and go on once it passes.
                    if !starved {
                        logger.error(
                            "control socket cannot accept: \(String(cString: strerror(errno))); retrying every 100 ms",
                            metadata: ["event": "control_accept_failed"])
                    }
                    starved = true
                    usleep(100_000)
                    continue
                default:
                    return  // the listener was closed
                }
            }
            starved = false
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            admit(client)
        }
    }

    /// Checks a new connection's credentials and the limits, on the accept thread; hands it to a task if it may in.
    private func admit(_ client: Int32) {
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(client, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, allowed(credentials) else {
            logger.warning(
                "control socket: caller refused", metadata: ["uid": "\(credentials.uid)", "event": "control_refused"])
            refuse(client, "permission denied: run as root or as a member of the controlnode group")
            return
        }
        guard admission.enter(.client) else {
            logger.warning(
                "control socket: caller turned away, \(ControlLimits.clients) connections are being served",
                metadata: ["uid": "\(credentials.uid)", "event": "control_busy"])
            refuse(client, ControlAdmission.Slot.client.refusal)
            return
        }
        let connection: ControlConnection
        do {
            connection = try ControlConnection(adopting: client)
        } catch {
            admission.leave(.client)
            logger.error("control socket: cannot serve a caller: \(error)", metadata: ["event": "control_failed"])
            refuse(client, "the daemon cannot serve this connection now (\(error)); retry")
            return
        }
        let requester = Requester(
            uid: credentials.uid, user: getpwuid(credentials.uid).map { String(cString: $0.pointee.pw_name) })
        let caller = Caller(connection: connection, requester: requester, uid: credentials.uid, descriptor: client)
        if case .terminated = accepted.yield(caller) {
            admission.leave(.client)  // closing: the connection is dropped with the caller
        }
    }

    /// Answers a caller turned away at the door with one line, without waiting, and closes its connection. A fresh
    /// connection's buffer is empty, so the line fits.
    private func refuse(_ client: Int32, _ error: String) {
        let bytes = (try? JSONEncoder.line(ControlResponse(ok: false, error: error))) ?? Array("{\"ok\":false}\n".utf8)
        _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
        Glibc.close(client)
    }

    /// Reads one caller's request, answers it, and holds the connection for a tunnel or a followed rollout.
    private func serve(_ caller: Caller) async {
        let connection = caller.connection
        if let request = await request(of: caller) {
            await answer(request, of: caller)
        }
        await connection.close()
    }

    /// The caller's request; nil (the caller having been told why, when it can hear it) when there is none.
    private func request(of caller: Caller) async -> ControlRequest? {
        let problem: String
        switch await caller.connection.readRequest() {
        case .line(let line):
            if let request = ControlRequest(line: line) { return request }
            problem = "malformed request: send one JSON object on one line"
        case .tooLong:
            problem = "request too long: a request is one JSON line of at most \(ControlLimits.requestBytes / 1024) KiB"
        case .timedOut:
            logger.notice(
                "control socket: caller dropped, no request within \(ControlLimits.text(ControlLimits.requestDeadline))",
                metadata: ["uid": "\(caller.uid)", "event": "control_dropped"])
            problem = "no complete request within \(ControlLimits.text(ControlLimits.requestDeadline)): send the whole request line at once"
        case .ended:
            return nil
        }
        _ = await caller.connection.send(ControlResponse(ok: false, error: problem))
        return nil
    }

    private func answer(_ request: ControlRequest, of caller: Caller) async {
        let connection = caller.connection
        if request.isMutating {
            logger.notice(
                "control request",
                metadata: [
                    "uid": "\(caller.uid)", "command": "\(request.command)",
                    "release": "\(request.release ?? "")", "host": "\(request.host ?? "")", "event": "control_request",
                ])
        }
        let tunnel = request.holdsConnection
        if tunnel && !admission.enter(.tunnel) {
            logger.warning(
                "control socket: tunnel refused, \(ControlLimits.tunnels) are open",
                metadata: ["uid": "\(caller.uid)", "event": "control_busy"])
            _ = await connection.send(ControlResponse(ok: false, error: ControlAdmission.Slot.tunnel.refusal))
            return
        }
        defer { if tunnel { admission.leave(.tunnel) } }
        let answer = await handle(request, caller.requester)
        var delivery = await connection.send(answer.response)
        if delivery == .sent, let updates = answer.updates {
            // A followed rollout: a line per update. The rollout goes on whatever happens to its follower.
            for await update in updates {
                delivery = await connection.send(.following(update))
                if delivery != .sent { break }
            }
        } else if delivery == .sent, let lines = answer.lines {
            delivery = await stream(lines, to: connection)
        } else if let relay = answer.relay {
            // A remote shell: the connection's bytes are the terminal's from here on, until either end closes. A
            // caller already gone gets none, but what was prepared for it is released.
            let copy = delivery == .sent ? fcntl(caller.descriptor, F_DUPFD_CLOEXEC, 0) : -1
            await relay(copy >= 0 ? copy : nil)
        } else if delivery == .sent, answer.heldUntilClosed != nil {
            // A tunnel lasts as long as the caller keeps the connection.
            await connection.waitForEnd()
        }
        if let release = answer.heldUntilClosed { await release() }
        if delivery == .timedOut {
            logger.warning(
                "control socket: caller dropped, it did not take a reply within \(ControlLimits.text(ControlLimits.sendTimeout))",
                metadata: ["uid": "\(caller.uid)", "command": "\(request.command)", "event": "control_dropped"])
        }
    }

    /// Sends each line of `lines` until it ends or the caller goes. A caller that closes its end is noticed at once,
    /// even between lines: the stream is then cancelled, which stops whatever produces it (a followed log, say).
    private func stream(_ lines: AsyncStream<ControlResponse>, to connection: ControlConnection) async
        -> ControlConnection.Delivery
    {
        await withTaskGroup(of: ControlConnection.Delivery.self) { group in
            group.addTask {
                for await line in lines {
                    let delivery = await connection.send(line)
                    if delivery != .sent { return delivery }
                }
                return .sent
            }
            group.addTask {
                await connection.waitForEnd()
                return .gone
            }
            let first = await group.next() ?? .gone
            group.cancelAll()
            return first
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
}

/// A response, and what the request holds open until the caller disconnects (a tunnel), or the lines that follow
/// it (a followed rollout, a followed event stream or log).
struct ControlAnswer: Sendable {
    var response: ControlResponse
    var heldUntilClosed: (@Sendable () async -> Void)?
    var updates: AsyncStream<RolloutUpdate>?
    /// Lines after `response`, sent until the stream ends or the caller goes (the stream is then cancelled).
    var lines: AsyncStream<ControlResponse>?
    /// Takes the connection over after `response` (a remote shell): given a duplicate of its socket, which it owns
    /// and closes, it returns once the relay has ended; the connection is then closed. Given nil when the response
    /// could not be delivered, it only releases what the request prepared.
    var relay: (@Sendable (Int32?) async -> Void)?

    init(_ response: ControlResponse, heldUntilClosed: (@Sendable () async -> Void)? = nil) {
        self.response = response
        self.heldUntilClosed = heldUntilClosed
    }

    /// `response`, then each of `lines` until it ends or the caller goes.
    init(_ response: ControlResponse, streaming lines: AsyncStream<ControlResponse>) {
        self.response = response
        self.lines = lines
    }

    /// `response`, then the connection handed to `relay` (raw bytes both ways) until it returns.
    init(_ response: ControlResponse, relay: @escaping @Sendable (Int32?) async -> Void) {
        self.response = response
        self.relay = relay
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
