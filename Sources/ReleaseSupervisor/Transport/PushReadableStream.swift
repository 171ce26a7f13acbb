/// What a pushing stream hands its reader: bytes, the end, or a failure.
public enum PushedRead {
    /// Bytes that arrived; valid only during the call.
    case bytes(UnsafeRawBufferPointer)
    /// The peer closed the stream, or it was closed locally. Nothing follows.
    case end
    /// The stream failed. Nothing follows.
    case failed(any Error)
}

/// A byte stream that can hand arriving bytes to a reader on the thread that sees them arrive.
///
/// A reader that answers on the spot (a distribution connection matching an RPC reply to its caller)
/// saves the hop to a reading task this way. The handler runs on the transport's event thread, so it
/// must be short and must never block.
public protocol PushReadableStream: ByteStream {
    /// From now on, delivers arriving bytes to `handler`, in order and one call at a time, until
    /// `.end` or `.failed`; `read(upTo:)` must not be used any more. The stream keeps the handler
    /// until it is closed.
    func pushReads(to handler: @escaping @Sendable (PushedRead) -> Void)
}
