/// A byte stream that can take bytes on the spot when its send buffer has room.
///
/// Lets a writer skip a hop to another task for small messages (an RPC request, a tick): the bytes go
/// to the kernel from the caller's own thread, and only what does not fit waits for the writer task.
public protocol ImmediateWritableStream: ByteStream {
    /// Writes as many leading bytes of `bytes` as the transport takes without waiting.
    ///
    /// - Returns: how many bytes were taken; 0 when the buffer is full.
    /// - Throws: the transport's error when the stream has failed or was closed.
    func writeImmediately(_ bytes: [UInt8]) throws -> Int
}
