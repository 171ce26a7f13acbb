import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One local socket relayed to a channel, pumped on the session thread: an accepted connection of a local forward
/// and its direct-tcpip channel, or an operator's terminal and a session channel with a PTY running a command.
/// Bytes go both ways; for a forward, end of file is passed on in each direction (half-close) and a refused target
/// closes the local socket at once; for a terminal, the local end closing closes the channel (the remote command
/// gets SIGHUP, as when an ssh client goes), and the command's end closes the local socket.
final class ForwardedConnection: SessionOperation, @unchecked Sendable {
    // @unchecked: created and stepped only on the session thread; `stopRequested` is atomic and `finished` is
    // called once, on the session thread.

    /// What the local socket is relayed to.
    enum Target: CustomStringConvertible {
        case directTCPIP(host: String, port: UInt16)
        case terminal(TerminalRequest)

        var description: String {
            switch self {
            case .directTCPIP(let host, let port): "\(host):\(port)"
            case .terminal(let request): "a terminal running \(ExecOperation.summary(request.command))"
            }
        }
    }

    /// How far a terminal's session channel is set up.
    private enum Setup { case opening, requestingPTY, starting, done }

    private let descriptor: Int32
    private let target: Target
    /// A terminal's window size changes.
    private let window: TerminalWindow?
    private var setup = Setup.opening
    private var channel: ChannelHandle?
    private var toRemote = Buffer()
    private var toLocal = Buffer()
    private var localEOF = false
    private var sentEOF = false
    private var remoteEOF = false
    private var shutLocalWrite = false
    private var closing = false
    private(set) var isFinished = false
    /// Set from any thread to end the relay (the operator's request ended, the daemon is closing).
    let stopRequested = Atomic<Bool>(false)
    /// Told once, when the relay has ended: nil when it ran, else why it could not start or broke off.
    var finished: (@Sendable (SSHError?) -> Void)?
    private var failure: SSHError?
    /// Bytes moved per step at most, so one busy connection does not starve the others.
    private static let stepBudget = 4 << 20

    private struct Buffer {
        // Not zero-filled: a page costs memory only once bytes have passed through it, so an idle tunnel is cheap.
        var bytes = [UInt8](unsafeUninitializedCapacity: 256 << 10) { _, count in count = 256 << 10 }
        var start = 0
        var end = 0
        var isEmpty: Bool { start == end }
        var hasSpace: Bool { end < bytes.count }
        mutating func consumed(_ count: Int) {
            start += count
            if start == end { (start, end) = (0, 0) }
        }
    }

    init(descriptor: Int32, host: String, port: UInt16) {
        self.descriptor = descriptor
        self.target = .directTCPIP(host: host, port: port)
        window = nil
    }

    /// Relays `descriptor` (non-blocking; closed when the relay ends) to a terminal on the host, whose size follows
    /// `window`.
    init(descriptor: Int32, terminal: TerminalRequest, window: TerminalWindow?) {
        self.descriptor = descriptor
        self.target = .terminal(terminal)
        self.window = window
    }

    private var isTerminal: Bool {
        if case .terminal = target { return true }
        return false
    }

    func requestClose() { closing = true }

    var watchedDescriptor: pollfd? {
        guard channel != nil, setup == .done, !closing else { return nil }
        var events: Int32 = 0
        if !localEOF && toRemote.hasSpace { events |= POLLIN }
        if !toLocal.isEmpty { events |= POLLOUT }
        return pollfd(fd: descriptor, events: Int16(events), revents: 0)
    }

    func step(_ loop: SessionLoop) -> StepResult {
        if !closing && stopRequested.load(ordering: .acquiring) { closing = true }
        if closing {
            // An open or a channel request already sent must finish first: libssh2 would otherwise continue it for
            // the next channel.
            if loop.holdsOpenSlot(self) { return open(loop) }
            return finish(loop)
        }
        guard let channel, setup == .done else { return open(loop) }
        if let size = window?.takePending() {
            let rc = channel.resizePTY(columns: size.columns, rows: size.rows)
            if rc == LibSSH2Code.wouldBlock {
                window?.putBack(size)
                return .wouldBlock
            }
            // A server that refuses a window change leaves the old size: nothing to end the shell over.
        }
        var moved = 0
        var blocked = false
        while moved < Self.stepBudget {
            let before = moved
            switch pumpToRemote(channel, &moved) {
            case .failed(let rc): return fail(loop, rc)
            case .blocked: blocked = true
            case .ok: break
            }
            switch pumpToLocal(channel, &moved) {
            case .failed(let rc): return fail(loop, rc)
            case .blocked: blocked = true
            case .ok: break
            }
            if closing || (sentEOF || isTerminal) && shutLocalWrite {
                closing = true
                return .progressed
            }
            if moved == before { break }
        }
        if moved > 0 { return .progressed }
        return blocked ? .wouldBlock : .idle
    }

    private enum Pump { case ok, blocked, failed(Int32) }

    private func pumpToRemote(_ channel: ChannelHandle, _ moved: inout Int) -> Pump {
        if !localEOF && toRemote.hasSpace {
            let end = toRemote.end
            let count = toRemote.bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + end, $0.count - end) }
            if count > 0 { toRemote.end += count } else if count == 0 { localEOF = true } else if errno != EAGAIN && errno != EINTR {
                localEOF = true  // reset by the local peer: treat as end of its data
            }
        }
        while !toRemote.isEmpty {
            let pending = toRemote.start..<toRemote.end
            let written = toRemote.bytes.withUnsafeBytes { channel.write(UnsafeRawBufferPointer(rebasing: $0[pending])) }
            if written == Int(LibSSH2Code.wouldBlock) { return .blocked }
            if written < 0 { return .failed(Int32(written)) }
            toRemote.consumed(written)
            moved += written
        }
        if localEOF && isTerminal {
            closing = true
            return .ok
        }
        if localEOF && !sentEOF {
            let rc = channel.sendEOF()
            if rc == LibSSH2Code.wouldBlock { return .blocked }
            if rc < 0 { return .failed(rc) }
            sentEOF = true
        }
        return .ok
    }

    private func pumpToLocal(_ channel: ChannelHandle, _ moved: inout Int) -> Pump {
        var blocked = false
        if !remoteEOF && toLocal.hasSpace {
            let end = toLocal.end
            let count = toLocal.bytes.withUnsafeMutableBytes {
                channel.read(stream: 0, into: UnsafeMutableRawBufferPointer(rebasing: $0[end...]))
            }
            if count > 0 {
                toLocal.end += count
            } else if count == Int(LibSSH2Code.wouldBlock) || (count == 0 && !channel.receivedEOF) {
                blocked = true
            } else if count == 0 {
                remoteEOF = true
            } else {
                return .failed(Int32(count))
            }
        }
        while !toLocal.isEmpty {
            let pending = toLocal.start..<toLocal.end
            let count = toLocal.bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + pending.lowerBound, pending.count) }
            if count > 0 {
                toLocal.consumed(count)
                moved += count
            } else if errno == EAGAIN || errno == EINTR {
                break
            } else {
                // The local client went away: stop both directions.
                toLocal.consumed(toLocal.end - toLocal.start)
                remoteEOF = true
                localEOF = true
            }
        }
        if remoteEOF && toLocal.isEmpty && !shutLocalWrite {
            shutdown(descriptor, Int32(SHUT_WR))
            shutLocalWrite = true
        }
        return blocked ? .blocked : .ok
    }

    private func open(_ loop: SessionLoop) -> StepResult {
        guard case .terminal(let request) = target else { return openDirect(loop) }
        guard loop.acquireOpenSlot(self) else { return .idle }
        switch setup {
        case .opening:
            guard let opened = loop.session.openChannel(type: "session") else {
                return refused(loop, loop.session.lastErrorCode, "opening a session channel for a terminal")
            }
            channel = opened
            setup = .requestingPTY
            if closing { loop.releaseOpenSlot(self) }
            return .progressed
        case .requestingPTY:
            let rc = channel!.requestPTY(terminal: request.terminal, columns: request.columns, rows: request.rows)
            if rc != 0 { return refused(loop, rc, "asking for a terminal (PTY)") }
            channel!.mergeStandardError()
            setup = .starting
            if closing { loop.releaseOpenSlot(self) }
            return .progressed
        case .starting:
            let rc = channel!.exec(RemoteShell.command(for: request.command))
            if rc != 0 { return refused(loop, rc, "starting \(ExecOperation.summary(request.command)) on a terminal") }
            loop.releaseOpenSlot(self)
            setup = .done
            return .progressed
        case .done:
            loop.releaseOpenSlot(self)
            return .progressed
        }
    }

    /// A terminal's channel set-up failed with `rc`: the relay ends and its owner hears why.
    private func refused(_ loop: SessionLoop, _ rc: Int32, _ what: String) -> StepResult {
        if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
        loop.releaseOpenSlot(self)
        let (error, fatal) = loop.classify(rc, .execFailed, what)
        failure = error
        if fatal {
            abandon(error)
            return .transportFailed(error)
        }
        closing = true
        return finish(loop)
    }

    private func openDirect(_ loop: SessionLoop) -> StepResult {
        guard case .directTCPIP(let host, let port) = target else { return .finished }
        guard loop.acquireOpenSlot(self) else { return .idle }
        if let opened = loop.session.openDirectTCPIP(host: host, port: port) {
            loop.releaseOpenSlot(self)
            channel = opened
            setup = .done
            return .progressed  // when closing, the next step frees it
        }
        let rc = loop.session.lastErrorCode
        if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
        loop.releaseOpenSlot(self)
        if LibSSH2Code.isTransportFailure(rc) { return fail(loop, rc) }
        // The target refused or is unreachable from the host: the local client sees its connection close.
        loop.logger.info(
            "forwarded connection refused by the target",
            metadata: ["host": "\(loop.settings.endpoint)", "target": "\(host):\(port)"])
        closing = true
        return finish(loop)
    }

    private func fail(_ loop: SessionLoop, _ rc: Int32) -> StepResult {
        if LibSSH2Code.isTransportFailure(rc) {
            let error = loop.failure(.connectionLost, "connection lost while relaying to \(target)")
            abandon(error)
            return .transportFailed(error)
        }
        closing = true
        return finish(loop)
    }

    private func finish(_ loop: SessionLoop) -> StepResult {
        if let channel {
            let rc = channel.free()
            if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
            self.channel = nil
        }
        end(failure)
        return .finished
    }

    func abandon(_ error: SSHError) {
        end(error)
    }

    /// Closes the local socket and tells the owner, once.
    private func end(_ error: SSHError?) {
        guard !isFinished else { return }
        Glibc.close(descriptor)
        isFinished = true
        finished?(error)
        finished = nil
    }
}
