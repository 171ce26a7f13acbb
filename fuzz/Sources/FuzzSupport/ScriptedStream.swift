public import ReleaseSupervisor
import Synchronization

/// A `ByteStream` that plays back fixed bytes as the peer's side, in pieces of a chosen size, and
/// discards what is written: a fuzz input stands in for what EPMD or a node would send.
public final class ScriptedStream: ByteStream {
    private struct State {
        var bytes: [UInt8]
        var position = 0
        var closed = false
    }

    private let state: Mutex<State>
    private let pieceSize: Int

    /// A stream whose reads return `bytes` at most `pieceSize` at a time, then end of stream.
    public init(_ bytes: [UInt8], pieceSize: Int) {
        state = Mutex(State(bytes: bytes))
        self.pieceSize = max(1, pieceSize)
    }

    /// The next piece of the script, or empty at its end (or once closed).
    public func read(upTo maxLength: Int) async throws -> [UInt8] {
        state.withLock { state in
            guard !state.closed else { return [] }
            let count = min(maxLength, pieceSize, state.bytes.count - state.position)
            defer { state.position += count }
            return Array(state.bytes[state.position..<state.position + count])
        }
    }

    /// Discards `bytes`: what we send does not change the script.
    public func write(_ bytes: [UInt8]) async throws {}

    /// Ends the script: later reads see end of stream.
    public func close() async {
        state.withLock { $0.closed = true }
    }
}
