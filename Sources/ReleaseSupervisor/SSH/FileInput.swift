#if canImport(Glibc)
import Glibc
#endif

/// A local file fed to a remote command's stdin in chunks, from a descriptor the caller keeps open.
///
/// Used on the session thread only, by the one operation that owns it.
final class FileInput: @unchecked Sendable {
    // @unchecked: created by the caller, then used only by the operation on the session thread.
    /// What to call the file in errors.
    let description: String
    private let descriptor: Int32
    private let size: Int
    private var offset = 0
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
    private var bufferStart = 0
    private var bufferEnd = 0
    private var sent = 0
    private var reported = 0
    private let progress: (@Sendable (_ sent: Int, _ total: Int) -> Void)?

    /// Sends the first `size` bytes of `descriptor`; `description` names the file in errors. `progress` hears
    /// of the bytes sent every 256 KiB and at the end, on the session thread (it must not block).
    init(
        descriptor: Int32, size: Int, description: String,
        progress: (@Sendable (_ sent: Int, _ total: Int) -> Void)? = nil
    ) {
        self.descriptor = descriptor
        self.size = size
        self.description = description
        self.progress = progress
    }

    deinit { buffer.deallocate() }

    /// Whether every byte has been handed on.
    var isFinished: Bool { offset == size && bufferStart == bufferEnd }

    /// The bytes read but not yet sent, refilled from the file when empty; nil when the file cannot be read
    /// (or is shorter than announced).
    func pending() -> UnsafeRawBufferPointer? {
        if bufferStart == bufferEnd {
            var got: Int
            repeat {
                got = pread(descriptor, buffer.baseAddress, min(buffer.count, size - offset), off_t(offset))
            } while got < 0 && errno == EINTR
            guard got > 0 else { return nil }
            offset += got
            bufferStart = 0
            bufferEnd = got
        }
        return UnsafeRawBufferPointer(rebasing: buffer[bufferStart..<bufferEnd])
    }

    /// Marks `count` pending bytes as sent.
    func consume(_ count: Int) {
        bufferStart += count
        sent += count
        if let progress, sent == size || sent - reported >= 256 << 10 {
            reported = sent
            progress(sent, size)
        }
    }
}
