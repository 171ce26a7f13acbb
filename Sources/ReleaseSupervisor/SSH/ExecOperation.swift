/// How a remote command ended.
public enum ExitReason: Sendable, Equatable, CustomStringConvertible {
    /// It exited with this status.
    case status(Int32)
    /// A signal ended it (the name without `SIG`, such as `KILL`).
    case signal(String)

    /// `exit status 3` or `killed by SIGKILL`.
    public var description: String {
        switch self {
        case .status(let code): "exit status \(code)"
        case .signal(let name): "killed by SIG\(name)"
        }
    }
}

/// A finished remote command: its output, byte for byte, and how it ended.
public struct ExecResult: Sendable {
    /// Everything the command wrote to stdout.
    public var stdout: [UInt8]
    /// Everything the command wrote to stderr.
    public var stderr: [UInt8]
    /// How the command ended.
    public var exit: ExitReason
    /// Whether stdout or stderr passed `ExecResult.outputLimit` and the rest was dropped.
    public var truncated = false

    /// The most of each stream kept from one command: a host cannot make the daemon hold more than this per
    /// command, whatever it prints (the rest is read and dropped, so the command still ends).
    public static let outputLimit = 1 << 20

    /// Whether it exited with status 0.
    public var succeeded: Bool { exit == .status(0) }
    /// stdout as text (invalid UTF-8 is replaced), for logs and simple parsing.
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// stderr as text for messages: invalid UTF-8 replaced, control characters escaped.
    public var stderrText: String { DisplayText.sanitized(String(decoding: stderr, as: UTF8.self)) }
}

/// Runs one command in an exec channel: open, start, feed stdin, read both streams to end of file,
/// close, collect the exit status, free. A deadline aborts it.
final class ExecOperation: SessionOperation, @unchecked Sendable {
    // @unchecked: after `submit`, only the session thread touches this object.
    private enum Phase {
        case opening, starting, writingInput, sendingEOF, reading, closing, waitingClosed, freeing
    }

    private let command: String
    private let input: [UInt8]
    private var inputOffset = 0
    /// A local file sent on stdin after `input`, read as it goes (a tarball need not fit in memory).
    private var file: FileInput?
    private let timeoutDescription: String
    private let timeoutAt: Int64
    var deadline: Int64? { outcome == nil ? timeoutAt : nil }
    private var continuation: CheckedContinuation<Result<ExecResult, SSHError>, Never>?
    private var phase = Phase.opening
    private var channel: ChannelHandle?
    private var stdout: [UInt8] = []
    private var stderr: [UInt8] = []
    private var truncated = false
    private var outcome: Result<ExecResult, SSHError>?

    init(
        command: String, input: [UInt8], file: FileInput? = nil, timeout: Duration,
        continuation: CheckedContinuation<Result<ExecResult, SSHError>, Never>
    ) {
        self.command = command
        self.input = input
        self.file = file
        self.timeoutDescription = "\(timeout)"
        self.timeoutAt = monotonicNanoseconds() + timeout.nanoseconds
        self.continuation = continuation
    }

    func step(_ loop: SessionLoop) -> StepResult {
        if outcome == nil, loop.now >= timeoutAt {
            outcome = .failure(
                SSHError(.timedOut, host: loop.settings.endpoint,
                    detail: "command did not finish within \(timeoutDescription): \(Self.summary(command))"))
            // The caller hears of the timeout now; freeing the channel may wait for the remote command.
            _ = resume()
            if channel == nil && !loop.holdsOpenSlot(self) { return .finished }
            // An open or exec request in progress is finished first (see `SessionLoop.acquireOpenSlot`), then freed.
            if channel != nil && phase != .starting { phase = .freeing }
        }
        switch phase {
        case .opening:
            guard loop.acquireOpenSlot(self) else { return .idle }
            guard let opened = loop.session.openChannel(type: "session") else {
                return failed(loop, loop.session.lastErrorCode, .execFailed, "opening a channel for a command")
            }
            channel = opened
            if outcome == nil {
                phase = .starting
            } else {
                loop.releaseOpenSlot(self)
                phase = .freeing
            }
            return .progressed
        case .starting:
            let rc = channel!.exec(RemoteShell.command(for: command))
            if rc != 0 { return failed(loop, rc, .execFailed, "starting \(Self.summary(command))") }
            loop.releaseOpenSlot(self)
            phase = outcome != nil ? .freeing : input.isEmpty && file == nil ? .sendingEOF : .writingInput
            return .progressed
        case .writingInput:
            // A command that exits without reading all of its input (it failed) closes its side: what it said
            // matters more than the rest of the input, and writing on would only wait for a window that never
            // opens again.
            if let error = drainOutput(loop).error { return failed(loop, error, .execFailed, "reading the command's output") }
            if channel!.receivedEOF {
                phase = .reading
                return .progressed
            }
            if inputOffset < input.count {
                let written = input.withUnsafeBytes { channel!.write(UnsafeRawBufferPointer(rebasing: $0[inputOffset...])) }
                if written < 0 { return failed(loop, Int32(written), .execFailed, "writing the command's input") }
                inputOffset += written
                return .progressed
            }
            if let file, !file.isFinished {
                guard let pending = file.pending() else {
                    return failed(loop, 0, .localFileUnreadable, "reading \(file.description) to send it")
                }
                let written = channel!.write(pending)
                if written < 0 { return failed(loop, Int32(written), .execFailed, "sending \(file.description)") }
                file.consume(written)
                return written > 0 ? .progressed : .wouldBlock
            }
            phase = .sendingEOF
            return .progressed
        case .sendingEOF:
            let rc = channel!.sendEOF()
            if rc != 0 { return failed(loop, rc, .execFailed, "closing the command's input") }
            phase = .reading
            return .progressed
        case .reading:
            return readOutput(loop)
        case .closing:
            let rc = channel!.close()
            if rc != 0 { return failed(loop, rc, .execFailed, "closing the command's channel") }
            phase = .waitingClosed
            return .progressed
        case .waitingClosed:
            let rc = channel!.waitClosed()
            if rc != 0 { return failed(loop, rc, .execFailed, "waiting for the command's channel to close") }
            let exit: ExitReason = channel!.exitSignal.map { .signal($0) } ?? .status(channel!.exitStatus)
            outcome = .success(ExecResult(stdout: stdout, stderr: stderr, exit: exit, truncated: truncated))
            _ = resume()
            phase = .freeing
            return .progressed
        case .freeing:
            let rc = channel!.free()
            if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
            channel = nil
            return resume()
        }
    }

    private func readOutput(_ loop: SessionLoop) -> StepResult {
        let (moved, error) = drainOutput(loop)
        if let error { return failed(loop, error, .execFailed, "reading the command's output") }
        if channel!.receivedEOF {
            phase = .closing
            return .progressed
        }
        return moved ? .progressed : .wouldBlock
    }

    /// Reads what stdout and stderr hold now, through the connection's shared read buffer; whether anything
    /// came, or the libssh2 error.
    private func drainOutput(_ loop: SessionLoop) -> (moved: Bool, error: Int32?) {
        var moved = false
        for stream in [Int32(0), Int32(1)] {
            while true {
                let count = channel!.read(stream: stream, into: loop.scratch)
                if count > 0 {
                    let bytes = UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count])
                    if stream == 0 {
                        keep(bytes, in: &stdout)
                    } else {
                        keep(bytes, in: &stderr)
                    }
                    moved = true
                    continue
                }
                if count < 0 && Int32(count) != LibSSH2Code.wouldBlock { return (moved, Int32(count)) }
                break
            }
        }
        return (moved, nil)
    }

    /// Appends what fits under the output limit; the rest is dropped and noted.
    private func keep(_ bytes: UnsafeRawBufferPointer, in output: inout [UInt8]) {
        let room = ExecResult.outputLimit - output.count
        if bytes.count > room { truncated = true }
        if room > 0 { output.append(contentsOf: bytes.prefix(room)) }
    }

    private func failed(_ loop: SessionLoop, _ rc: Int32, _ code: SSHError.Code, _ what: String) -> StepResult {
        if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
        loop.releaseOpenSlot(self)
        let (error, fatal) = loop.classify(rc, code, what)
        if fatal {
            abandon(error)
            return .transportFailed(error)
        }
        if outcome == nil { outcome = .failure(error) }
        let finished = resume()
        if channel == nil { return finished }
        phase = .freeing
        return .progressed
    }

    private func resume() -> StepResult {
        if let outcome { continuation?.resume(returning: outcome) }
        continuation = nil
        return .finished
    }

    func abandon(_ error: SSHError) {
        continuation?.resume(returning: .failure(error))
        continuation = nil
    }

    /// The command's first line, shortened, for error messages (never its input, which may hold secrets).
    static func summary(_ command: String) -> String {
        let line = command.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        return line.count > 80 ? "'\(line.prefix(77))...'" : "'\(line)'"
    }
}
