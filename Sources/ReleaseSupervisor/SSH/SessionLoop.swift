import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one owner of a connection's libssh2 session: a thread running a poll loop over the session socket,
/// a wake-up pipe and the local sockets of its forwards. Everything that touches a libssh2 handle of the
/// connection runs here, as `SessionOperation` steps.
///
/// libssh2 rules this loop keeps: after `LIBSSH2_ERROR_EAGAIN` with the outbound direction blocked, the same
/// operation is retried alone until its packet has gone (another send in between would be refused); channel
/// opens, which share one state per session, take turns through the open slot; idle means blocked in `poll`
/// with no timeout other than the keepalive's.
final class SessionLoop: @unchecked Sendable {
    // @unchecked: `shared` is the only state other threads touch, under its mutex; every other stored
    // property is read and written only by the session thread (or before it starts).
    private struct Shared {
        var incoming: [any SessionOperation] = []
        var closeRequested = false
        var ended: SSHError?
        var endWaiters: [CheckedContinuation<SSHError, Never>] = []
    }

    let settings: SSHSettings
    let logger: Logger
    private let shared = Locked(Shared())
    /// A pipe: other threads write a byte to wake the session thread out of `poll`.
    private let wakePipe: (read: Int32, write: Int32)

    // Session thread only.
    private(set) var session: SessionHandle!
    private var socket: Int32 = -1
    private var operations: [any SessionOperation] = []
    private var pinned: (any SessionOperation)?
    /// The operation whose channel open (or channel request) libssh2 has in hand (`SessionLoop+OpenSlot.swift`).
    var openSlotHolder: ObjectIdentifier?
    private var probe: KeepaliveProbe?
    private let traffic: UnsafeMutablePointer<TrafficRecord>
    /// One read buffer for every channel and command of the connection: they are all stepped on this thread, one at a
    /// time, so each channel costs its pending bytes rather than a buffer of its own.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
    /// Key exchange, host key, cipher and MAC, set once before `start` returns.
    private(set) var negotiatedMethods = ""
    /// The monotonic time of the current loop turn, in nanoseconds.
    private(set) var now: Int64 = 0
    /// Set once a channel read in the current pass over the operations has read the socket dry. Every libssh2
    /// channel read first reads the socket until it would block, so after one such read a channel with nothing
    /// queued can be skipped: with many channels on one connection, each wake would otherwise cost a recv()
    /// per channel.
    var inboundDrained = false

    private init(settings: SSHSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        var descriptors: [Int32] = [-1, -1]
        if pipe(&descriptors) == 0 {
            for descriptor in descriptors {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            }
        }
        wakePipe = (descriptors[0], descriptors[1])
        traffic = .allocate(capacity: 1)
        traffic.initialize(to: TrafficRecord(lastReceive: monotonicNanoseconds()))
    }

    deinit {
        close(wakePipe.read)
        close(wakePipe.write)
        traffic.deallocate()
        scratch.deallocate()
    }

    /// Starts the session thread, which connects, verifies and authenticates before this returns.
    static func start(settings: SSHSettings, logger: Logger) async throws(SSHError) -> SessionLoop {
        let loop = SessionLoop(settings: settings, logger: logger)
        guard loop.wakePipe.read >= 0 else {
            throw SSHError(.connectFailed, host: settings.endpoint, detail: "cannot create a pipe (errno \(errno))")
        }
        let result: Result<Void, SSHError> = await withCheckedContinuation { continuation in
            loop.spawnThread { continuation.resume(returning: $0) }
        }
        try result.get()
        return loop
    }

    private final class ThreadStart {
        let loop: SessionLoop
        let established: (Result<Void, SSHError>) -> Void
        init(loop: SessionLoop, established: @escaping (Result<Void, SSHError>) -> Void) {
            self.loop = loop
            self.established = established
        }
    }

    private func spawnThread(established: @escaping (Result<Void, SSHError>) -> Void) {
        let start = Unmanaged.passRetained(ThreadStart(loop: self, established: established)).toOpaque()
        var thread: pthread_t = 0
        let rc = pthread_create(&thread, nil, { argument in
            let start = Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue()
            start.loop.threadMain(established: start.established)
            return nil
        }, start)
        if rc == 0 {
            // The thread ends when the connection does; `ended()` is how owners wait for that.
            pthread_detach(thread)
        } else {
            Unmanaged<ThreadStart>.fromOpaque(start).release()
            established(.failure(SSHError(.connectFailed, host: settings.endpoint, detail: "cannot start a thread (\(rc))")))
        }
    }

    // MARK: Requests from other threads

    /// Hands `operation` to the session thread; if the connection has ended, abandons it with the reason.
    func submit(_ operation: any SessionOperation) {
        let ended: SSHError? = shared.withLock { state in
            if let ended = state.ended { return ended }
            state.incoming.append(operation)
            return nil
        }
        if let ended { operation.abandon(ended) } else { wake() }
    }

    /// Wakes the session thread so it looks at its operations again.
    func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakePipe.write, &byte, 1)
    }

    /// Asks the session thread to disconnect; operations in flight end with a `closed` error.
    func requestClose() {
        shared.withLock { $0.closeRequested = true }
        wake()
    }

    /// Waits until the connection has ended and returns why (code `closed` after `requestClose`).
    func ended() async -> SSHError {
        await withCheckedContinuation { continuation in
            let ended: SSHError? = shared.withLock { state in
                if let ended = state.ended { return ended }
                state.endWaiters.append(continuation)
                return nil
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }

    /// Why the connection ended, or nil while it is up.
    var endReason: SSHError? { shared.withLock { $0.ended } }

    // MARK: Session thread

    private func threadMain(established: (Result<Void, SSHError>) -> Void) {
        do {
            let connection = try SessionEstablishment(settings: settings, logger: logger, traffic: traffic).run()
            session = connection.session
            socket = connection.socket
            negotiatedMethods = connection.methods
        } catch {
            _ = markEnded(error)
            notifyEnded(error)
            established(.failure(error))
            return
        }
        traffic.pointee.lastReceive = monotonicNanoseconds()
        established(.success(()))
        run()
    }

    private func run() {
        var waitBudget: Int32 = -1
        while true {
            now = monotonicNanoseconds()
            let (incoming, closeRequested) = shared.withLock { state in
                defer { state.incoming.removeAll() }
                return (state.incoming, state.closeRequested)
            }
            operations.append(contentsOf: incoming)
            if closeRequested {
                terminate(SSHError(.closed, host: settings.endpoint, detail: "connection closed by controlnode"),
                    graceful: true)
                return
            }
            let outcome = stepOperations()
            if case .failed(let error) = outcome {
                terminate(error, graceful: false)
                return
            }
            switch checkLiveness() {
            case .dead(let silence):
                terminate(silence, graceful: false)
                return
            case .probeStarted:
                // Send the probe now: waiting first would spend the reply's time budget doing nothing.
                continue
            case .alive:
                break
            }
            waitBudget = outcome == .busy ? 0 : timeoutMilliseconds()
            waitForEvents(outcome: outcome, timeout: waitBudget)
        }
    }

    private enum Outcome: Equatable {
        case busy
        case waiting(inbound: Bool, outbound: Bool)
        case failed(SSHError)

        static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            switch (lhs, rhs) {
            case (.busy, .busy): true
            case (.waiting(let a, let b), .waiting(let c, let d)): a == c && b == d
            default: false
            }
        }
    }

    /// Steps operations until none progresses (bounded, so the loop still polls during bulk transfers).
    private func stepOperations() -> Outcome {
        if let current = pinned {
            inboundDrained = false
            switch current.step(self) {
            case .wouldBlock where session.blockDirections().outbound:
                return .waiting(inbound: true, outbound: true)
            case .transportFailed(let error):
                return .failed(error)
            case .finished:
                remove(current)
                pinned = nil
            default:
                pinned = nil
            }
        }
        var wantsInbound = false
        for _ in 0..<32 {
            var progressed = false
            wantsInbound = false
            inboundDrained = false
            var index = 0
            while index < operations.count {
                let operation = operations[index]
                switch operation.step(self) {
                case .finished:
                    operations.remove(at: index)
                    progressed = true
                    continue
                case .progressed:
                    progressed = true
                case .wouldBlock:
                    wantsInbound = true
                    if session.blockDirections().outbound {
                        pinned = operation
                        return .waiting(inbound: true, outbound: true)
                    }
                case .idle:
                    break
                case .transportFailed(let error):
                    return .failed(error)
                }
                index += 1
            }
            if !progressed { return .waiting(inbound: wantsInbound, outbound: false) }
        }
        return .busy
    }

    private func remove(_ operation: any SessionOperation) {
        operations.removeAll { $0 === operation }
    }

    /// Adds an operation created on the session thread (a forward's accepted connection, the probe).
    func adopt(_ operation: any SessionOperation) { operations.append(operation) }

    // MARK: Liveness

    private var intervalNanoseconds: Int64 { max(settings.keepaliveInterval.nanoseconds, 1_000_000) }
    private var deadAfterNanoseconds: Int64 { intervalNanoseconds * Int64(max(settings.keepaliveMaxMissed, 1)) }

    private enum Liveness {
        case alive
        case probeStarted
        case dead(SSHError)
    }

    /// Probes a silent server every interval; declares the connection dead after `keepaliveMaxMissed` silent ones.
    private func checkLiveness() -> Liveness {
        let silence = now - traffic.pointee.lastReceive
        if silence > deadAfterNanoseconds {
            let seconds = Double(silence / 1_000_000) / 1000
            return .dead(SSHError(
                .connectionLost, host: settings.endpoint,
                detail: "no traffic from the server for \(seconds) s (keepalive every \(settings.keepaliveInterval), "
                    + "\(settings.keepaliveMaxMissed) missed); the host or the network is down"))
        }
        if silence >= intervalNanoseconds && probe == nil {
            startProbe()
            return .probeStarted
        }
        return .alive
    }

    /// Sends a probe the server must answer; reading the answer is what surfaces a dead connection.
    private func startProbe() {
        let newProbe = KeepaliveProbe { [weak self] in self?.probe = nil }
        probe = newProbe
        operations.append(newProbe)
    }

    private func timeoutMilliseconds() -> Int32 {
        let last = traffic.pointee.lastReceive
        var wakeAt = probe == nil ? last + intervalNanoseconds : last + deadAfterNanoseconds + 1_000_000
        for operation in operations {
            if let deadline = operation.deadline { wakeAt = min(wakeAt, deadline) }
        }
        let remaining = wakeAt - monotonicNanoseconds()
        if remaining <= 0 { return 0 }
        return Int32(clamping: (remaining + 999_999) / 1_000_000)
    }

    /// Linux's POLLRDHUP (the peer shut its side down), which Glibc's module leaves out: it needs _GNU_SOURCE.
    private static let peerHangup: Int32 = 0x2000

    private func waitForEvents(outcome: Outcome, timeout: Int32) {
        var inbound = probe != nil
        var outbound = false
        if case .waiting(let wantsIn, let wantsOut) = outcome {
            inbound = inbound || wantsIn
            outbound = wantsOut
        }
        var descriptors = [pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
        // Idle, the socket is watched only for the server hanging up (sshd killed, the host rebooted), which
        // starts a probe at once instead of at the next keepalive: reading is left to the operations.
        let socketEvents = (inbound ? POLLIN : Self.peerHangup) | (outbound ? POLLOUT : 0)
        descriptors.append(pollfd(fd: socket, events: Int16(socketEvents), revents: 0))
        if pinned == nil {
            for operation in operations {
                if let watched = operation.watchedDescriptor { descriptors.append(watched) }
            }
        }
        _ = try? systemCall("poll") { poll(&descriptors, nfds_t(descriptors.count), timeout) }
        if descriptors[1].revents & Int16(Self.peerHangup | POLLHUP | POLLERR) != 0 && probe == nil { startProbe() }
        if descriptors[0].revents & Int16(POLLIN) != 0 {
            var drain = [UInt8](repeating: 0, count: 256)
            while Glibc.read(wakePipe.read, &drain, drain.count) == drain.count {}
        }
    }

    // MARK: Ending

    private func terminate(_ reason: SSHError, graceful: Bool) {
        let leftover = markEnded(reason)
        if reason.code == .connectionLost {
            logger.warning("SSH connection lost", metadata: ["host": "\(settings.endpoint)", "reason": "\(reason.detail)"])
        }
        for operation in operations + leftover { operation.abandon(reason) }
        operations.removeAll()
        pinned = nil
        probe = nil
        if graceful { disconnectGracefully() }
        shutdown(socket, Int32(SHUT_RDWR))
        // Non-blocking free with a dead socket cannot wait for the peer; bounded in case libssh2 still asks.
        var attempts = 0
        while session.free() == LibSSH2Code.wouldBlock && attempts < 100 { attempts += 1 }
        close(socket)
        notifyEnded(reason)
    }

    private func disconnectGracefully() {
        for _ in 0..<100 {
            guard session.disconnect() == LibSSH2Code.wouldBlock else { return }
            var descriptor = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
            _ = try? systemCall("poll") { poll(&descriptor, 1, 10) }
        }
    }

    /// Records why the connection ended, so later submissions are refused at once; returns what was still queued.
    private func markEnded(_ reason: SSHError) -> [any SessionOperation] {
        shared.withLock { state in
            state.ended = reason
            defer { state.incoming.removeAll() }
            return state.incoming
        }
    }

    private func notifyEnded(_ reason: SSHError) {
        let waiters = shared.withLock { state in
            defer { state.endWaiters.removeAll() }
            return state.endWaiters
        }
        for waiter in waiters { waiter.resume(returning: reason) }
    }
}
