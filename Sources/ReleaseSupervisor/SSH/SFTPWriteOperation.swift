#if canImport(Glibc)
import Glibc
#endif

/// Writes a local file to a new remote file over SFTP, creating missing parent directories, on the session
/// thread. Writes are pipelined: libssh2 sends up to the whole buffer as 30 kB requests before waiting for
/// acknowledgements, so the buffer is kept several megabytes deep.
final class SFTPWriteOperation: SessionOperation, @unchecked Sendable {
    // @unchecked: after `submit`, only the session thread touches this object.
    private enum Phase { case starting, directories, creating, writing, closing, removing, shuttingDown }

    private let localDescriptor: Int32
    private let fileSize: Int
    private let directories: [String]
    private let remotePath: String
    private let mode: Int
    private var continuation: CheckedContinuation<Result<Void, SSHError>, Never>?
    private var phase = Phase.starting
    private var sftp: SFTPHandle?
    private var file: SFTPFileHandle?
    private var directoryIndex = 0
    private var statDone = false
    private var failure: SSHError?

    /// File bytes from `windowOffset` (acknowledged up to `acked`) to `readOffset`; libssh2 requires each call
    /// to pass the unacknowledged bytes again from the start, so the front of the window stays put until acked.
    private let window = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * chunk, alignment: 16)
    private var windowOffset = 0
    private var acked = 0
    private var readOffset = 0
    private static let chunk = 8 << 20
    private static let refillBelow = 4 << 20

    /// - Parameters:
    ///   - directories: the parents of `remotePath` to create when missing, outermost first.
    init(
        localDescriptor: Int32, fileSize: Int, directories: [String], remotePath: String, mode: Int,
        continuation: CheckedContinuation<Result<Void, SSHError>, Never>
    ) {
        self.localDescriptor = localDescriptor
        self.fileSize = fileSize
        self.directories = directories
        self.remotePath = remotePath
        self.mode = mode
        self.continuation = continuation
    }

    deinit { window.deallocate() }

    func step(_ loop: SessionLoop) -> StepResult {
        switch phase {
        case .starting:
            guard loop.acquireOpenSlot(self) else { return .idle }
            guard let started = loop.session.startSFTP() else {
                return failed(loop, loop.session.lastErrorCode, "starting the SFTP subsystem")
            }
            loop.releaseOpenSlot(self)
            sftp = started
            phase = .directories
            return .progressed
        case .directories:
            return makeDirectories(loop)
        case .creating:
            guard let created = sftp!.createFile(remotePath, mode: mode) else {
                return failed(loop, loop.session.lastErrorCode, "creating \(remotePath)")
            }
            file = created
            phase = .writing
            return .progressed
        case .writing:
            return write(loop)
        case .closing:
            let rc = file!.close()
            if rc != 0 { return failed(loop, rc, "closing \(remotePath)") }
            file = nil
            phase = .shuttingDown
            return .progressed
        case .removing:
            let rc = sftp!.unlink(remotePath)
            if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
            phase = .shuttingDown
            return .progressed
        case .shuttingDown:
            let rc = sftp!.shutdown()
            if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
            sftp = nil
            continuation?.resume(returning: failure.map { .failure($0) } ?? .success(()))
            continuation = nil
            return .finished
        }
    }

    private func makeDirectories(_ loop: SessionLoop) -> StepResult {
        while directoryIndex < directories.count {
            let directory = directories[directoryIndex]
            if !statDone {
                let (rc, isDirectory) = sftp!.stat(directory)
                if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
                statDone = true
                if rc == 0 {
                    guard isDirectory else {
                        return failed(loop, nil, "\(directory) exists and is not a directory")
                    }
                    directoryIndex += 1
                    statDone = false
                    continue
                }
            }
            let rc = sftp!.makeDirectory(directory, mode: 0o755)
            if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
            if rc != 0 { return failed(loop, rc, "creating directory \(directory)") }
            directoryIndex += 1
            statDone = false
        }
        phase = .creating
        return .progressed
    }

    private func write(_ loop: SessionLoop) -> StepResult {
        var progressed = false
        while acked < fileSize {
            if readOffset < fileSize && readOffset - acked < Self.refillBelow {
                if let error = refill() {
                    failure = SSHError(.localFileUnreadable, host: loop.settings.endpoint, detail: error)
                    phase = .closing
                    return .progressed
                }
            }
            let pending = UnsafeRawBufferPointer(rebasing: window[(acked - windowOffset)..<(readOffset - windowOffset)])
            let count = file!.write(pending)
            if count == Int(LibSSH2Code.wouldBlock) { return progressed ? .progressed : .wouldBlock }
            if count < 0 { return failed(loop, Int32(count), "writing \(remotePath)") }
            acked += count
            progressed = true
        }
        phase = .closing
        return .progressed
    }

    /// Moves the unacknowledged bytes to the front of the window and reads the next part of the local file
    /// behind them.
    private func refill() -> String? {
        let keep = readOffset - acked
        if acked > windowOffset {
            window.baseAddress!.copyMemory(from: window.baseAddress! + (acked - windowOffset), byteCount: keep)
            windowOffset = acked
        }
        let want = min(window.count - keep, fileSize - readOffset)
        var filled = 0
        while filled < want {
            let got = pread(localDescriptor, window.baseAddress! + keep + filled, want - filled, off_t(readOffset + filled))
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { return "the local file shrank or could not be read during the upload (errno \(errno))" }
            filled += got
        }
        readOffset += want
        return nil
    }

    private func failed(_ loop: SessionLoop, _ rc: Int32?, _ what: String) -> StepResult {
        if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
        loop.releaseOpenSlot(self)
        if let rc, LibSSH2Code.isTransportFailure(rc) {
            let error = loop.failure(.connectionLost, "connection lost while \(what); nothing was left under the final name")
            abandon(error)
            return .transportFailed(error)
        }
        var detail = what
        if rc == LibSSH2Code.sftpProtocol, let sftp {
            detail += ": " + LibSSH2Code.sftpStatusText(sftp.lastStatus)
        } else if rc != nil {
            detail += ": " + loop.session.lastError.message
        }
        failure = SSHError(.uploadFailed, host: loop.settings.endpoint, detail: detail)
        if sftp == nil {
            continuation?.resume(returning: .failure(failure!))
            continuation = nil
            return .finished
        }
        if let file {
            _ = file.close()
            self.file = nil
            phase = .removing
        } else {
            phase = .shuttingDown
        }
        return .progressed
    }

    func abandon(_ error: SSHError) {
        continuation?.resume(returning: .failure(error))
        continuation = nil
    }
}
