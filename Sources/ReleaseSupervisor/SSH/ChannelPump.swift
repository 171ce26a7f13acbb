import Synchronization

/// Moves an `SSHChannel`'s bytes between its buffers and libssh2, on the session thread.
final class ChannelPump: SessionOperation, @unchecked Sendable {
    // @unchecked: stepped only on the session thread; what it shares with callers is in `channel.state`.
    private let channel: SSHChannel
    private let host: String
    private let port: UInt16
    private var opened: CheckedContinuation<Result<Void, SSHError>, Never>?
    private var handle: ChannelHandle?
    private var closing = false

    init(channel: SSHChannel, host: String, port: UInt16, opened: CheckedContinuation<Result<Void, SSHError>, Never>) {
        self.channel = channel
        self.host = host
        self.port = port
        self.opened = opened
    }

    func step(_ loop: SessionLoop) -> StepResult {
        guard let handle else { return open(loop) }
        if closing { return free(loop, handle) }
        if channel.state.withLock({ $0.closeRequested }) {
            closing = true
            return .progressed
        }
        let writeResult = writeOutbound(loop, handle)
        if case .transportFailed = writeResult { return writeResult }
        let readResult = readInbound(loop, handle)
        if case .transportFailed = readResult { return readResult }
        if closing { return .progressed }
        switch (writeResult, readResult) {
        case (.progressed, _), (_, .progressed): return .progressed
        case (.wouldBlock, _), (_, .wouldBlock): return .wouldBlock
        default: return .idle
        }
    }

    private func open(_ loop: SessionLoop) -> StepResult {
        guard loop.acquireOpenSlot(self) else { return .idle }
        guard let opened = loop.session.openDirectTCPIP(host: host, port: port) else {
            let rc = loop.session.lastErrorCode
            if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
            loop.releaseOpenSlot(self)
            let (error, fatal) = loop.classify(
                rc, .channelOpenFailed,
                "the server could not open a channel to \(host):\(port) (refused or unreachable from the host?)")
            self.opened?.resume(returning: .failure(error))
            self.opened = nil
            return fatal ? .transportFailed(error) : .finished
        }
        loop.releaseOpenSlot(self)
        handle = opened
        self.opened?.resume(returning: .success(()))
        self.opened = nil
        return .progressed
    }

    private func writeOutbound(_ loop: SessionLoop, _ handle: ChannelHandle) -> StepResult {
        var result = StepResult.idle
        while true {
            let written: Int? = channel.state.withLock { state in
                guard state.outbound.count > state.written else { return nil }
                return state.outbound.withUnsafeBytes { handle.write(UnsafeRawBufferPointer(rebasing: $0[state.written...])) }
            }
            guard let written else { return result }
            if written == Int(LibSSH2Code.wouldBlock) { return .wouldBlock }
            if written < 0 { return fail(loop, Int32(written), "writing to the channel to \(host):\(port)") }
            let resumed = channel.state.withLock { state in
                state.written += written
                var done: [CheckedContinuation<Void, any Error>] = []
                let base = state.queued - state.outbound.count
                while let first = state.writers.first, first.upTo <= base + state.written {
                    done.append(first.continuation)
                    state.writers.removeFirst()
                }
                if state.written == state.outbound.count {
                    state.outbound.removeAll(keepingCapacity: true)
                    state.written = 0
                }
                return done
            }
            for writer in resumed { writer.resume() }
            result = .progressed
        }
    }

    private func readInbound(_ loop: SessionLoop, _ handle: ChannelHandle) -> StepResult {
        var progressed = false
        while channel.state.withLock({ $0.inboundCount < SSHChannel.bufferLimit && !$0.remoteEOF }) {
            if loop.inboundDrained && !handle.hasQueuedData && !handle.receivedEOF {
                return progressed ? .progressed : .wouldBlock
            }
            let count = handle.read(stream: 0, into: loop.scratch)
            loop.inboundDrained = true
            if count == Int(LibSSH2Code.wouldBlock) { return progressed ? .progressed : .wouldBlock }
            if count < 0 { return fail(loop, Int32(count), "reading from the channel to \(host):\(port)") }
            let eof = count == 0 && handle.receivedEOF
            if count == 0 && !eof { return progressed ? .progressed : .wouldBlock }
            deliver(UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]), eof: eof)
            progressed = true
        }
        return progressed ? .progressed : .idle
    }

    /// Appends received bytes (or end of file) and hands them to a waiting reader.
    private func deliver(_ bytes: UnsafeRawBufferPointer, eof: Bool) {
        let ready = channel.state.withLock { state -> (CheckedContinuation<[UInt8], any Error>, [UInt8])? in
            state.inbound.append(contentsOf: bytes)
            if eof { state.remoteEOF = true }
            guard let reader = state.reader else { return nil }
            state.reader = nil
            return (reader.continuation, state.take(reader.limit))
        }
        if let (continuation, bytes) = ready { continuation.resume(returning: bytes) }
    }

    private func free(_ loop: SessionLoop, _ handle: ChannelHandle) -> StepResult {
        let rc = handle.free()
        if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
        abandon(SSHError(.closed, host: loop.settings.endpoint, detail: "channel to \(host):\(port) is closed"))
        return .finished
    }

    private func fail(_ loop: SessionLoop, _ rc: Int32, _ what: String) -> StepResult {
        let (error, fatal) = loop.classify(rc, .connectionLost, what)
        abandon(error)
        if fatal { return .transportFailed(error) }
        closing = true
        return .progressed
    }

    func abandon(_ error: SSHError) {
        opened?.resume(returning: .failure(error))
        opened = nil
        let (reader, writers) = channel.state.withLock { state in
            if state.failure == nil && !state.remoteEOF { state.failure = error }
            defer {
                state.reader = nil
                state.writers.removeAll()
            }
            return (state.reader, state.writers)
        }
        if let reader {
            if error.code == .closed { reader.continuation.resume(returning: []) } else {
                reader.continuation.resume(throwing: error)
            }
        }
        for writer in writers { writer.continuation.resume(throwing: error) }
    }
}
