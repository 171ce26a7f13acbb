import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One accepted connection of a local forward and its direct-tcpip channel, pumped on the session thread:
/// bytes both ways, end of file passed on in each direction (half-close), and a refused target closing the
/// local socket at once.
final class ForwardedConnection: SessionOperation, @unchecked Sendable {
    // @unchecked: created and stepped only on the session thread.
    private let descriptor: Int32
    private let host: String
    private let port: UInt16
    private var channel: ChannelHandle?
    private var toRemote = Buffer()
    private var toLocal = Buffer()
    private var localEOF = false
    private var sentEOF = false
    private var remoteEOF = false
    private var shutLocalWrite = false
    private var closing = false
    private(set) var isFinished = false
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
        self.host = host
        self.port = port
    }

    func requestClose() { closing = true }

    var watchedDescriptor: pollfd? {
        guard channel != nil, !closing else { return nil }
        var events: Int32 = 0
        if !localEOF && toRemote.hasSpace { events |= POLLIN }
        if !toLocal.isEmpty { events |= POLLOUT }
        return pollfd(fd: descriptor, events: Int16(events), revents: 0)
    }

    func step(_ loop: SessionLoop) -> StepResult {
        if closing {
            // An open already sent must finish first: libssh2 would otherwise continue it for the next channel.
            if channel == nil && loop.holdsOpenSlot(self) { return open(loop) }
            return finish(loop)
        }
        guard let channel else { return open(loop) }
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
            if sentEOF && shutLocalWrite {
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
        guard loop.acquireOpenSlot(self) else { return .idle }
        if let opened = loop.session.openDirectTCPIP(host: host, port: port) {
            loop.releaseOpenSlot(self)
            channel = opened
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
            let error = loop.failure(.connectionLost, "connection lost while forwarding to \(host):\(port)")
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
        if !isFinished {
            Glibc.close(descriptor)
            isFinished = true
        }
        return .finished
    }

    func abandon(_ error: SSHError) {
        if !isFinished {
            Glibc.close(descriptor)
            isFinished = true
        }
    }
}
