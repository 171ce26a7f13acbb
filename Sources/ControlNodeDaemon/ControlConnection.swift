import FoundationEssentials
import ReleaseSupervisor

/// One caller's connection to the control socket, served without holding a thread.
///
/// The socket is non-blocking and waits on the process's readiness thread (through `TCPStream`, which adopts any
/// stream socket; its one TCP-only setting fails harmlessly on a Unix socket). A caller that is slow to send, never
/// reads, or holds a tunnel open therefore costs a suspended task, never a thread of the cooperative pool that runs
/// supervision, and every wait has a deadline from `ControlLimits`.
final class ControlConnection: Sendable {
    /// How reading the request line ended.
    enum Request: Sendable {
        /// The line, without its newline.
        case line([UInt8])
        /// More than `ControlLimits.requestBytes` came without a newline.
        case tooLong
        /// The line was not complete within `ControlLimits.requestDeadline`.
        case timedOut
        /// The caller closed (or the connection failed) before sending anything.
        case ended
    }

    private let stream: TCPStream

    /// Takes ownership of an accepted connection; it is closed once this connection is closed and released.
    init(adopting descriptor: Int32) throws(SystemCallError) {
        stream = try TCPStream(adopting: descriptor)
    }

    /// Reads the request line: all of it within `ControlLimits.requestDeadline`, however the caller paces it.
    ///
    /// A caller that closes its side after a line without a newline (`printf … | socat`) has sent that line.
    func readRequest() async -> Request {
        await within(ControlLimits.requestDeadline, otherwise: .timedOut) { [stream] in
            var line: [UInt8] = []
            while true {
                guard let chunk = try? await stream.read(upTo: 4096), !chunk.isEmpty else {
                    return line.isEmpty ? .ended : .line(line)
                }
                if let newline = chunk.firstIndex(of: 10) {
                    line += chunk[..<newline]
                    return line.count <= ControlLimits.requestBytes ? .line(line) : .tooLong
                }
                line += chunk
                if line.count > ControlLimits.requestBytes { return .tooLong }
            }
        }
    }

    /// What became of a reply line.
    enum Delivery: Sendable {
        /// The kernel took all of it.
        case sent
        /// The caller closed its end or the connection failed.
        case gone
        /// The caller's buffer stayed full for `ControlLimits.sendTimeout`: it stopped reading.
        case timedOut
    }

    /// Writes `response` as one line, waiting at most `ControlLimits.sendTimeout` for the caller to take it.
    func send(_ response: ControlResponse) async -> Delivery {
        let bytes = (try? JSONEncoder.line(response)) ?? Array("{\"ok\":false}\n".utf8)
        // Most replies fit the socket's buffer: they go at once, without a deadline to arm.
        guard let taken = try? stream.writeImmediately(bytes) else { return .gone }
        if taken == bytes.count { return .sent }
        let rest = Array(bytes[taken...])
        return await within(ControlLimits.sendTimeout, otherwise: .timedOut) { [stream] in
            do {
                try await stream.write(rest)
                return .sent
            } catch {
                return .gone
            }
        }
    }

    /// Returns once the caller closes its end, the connection fails, or the task is cancelled; what the caller
    /// sends meanwhile is discarded.
    func waitForEnd() async {
        while let chunk = try? await stream.read(upTo: 4096), !chunk.isEmpty {}
    }

    /// Shuts the connection down; the descriptor is closed when the last reference goes.
    func close() async {
        await stream.close()
    }

    /// `body`'s result, or `late` once `limit` has passed first (then `body` is cancelled, which ends its wait on
    /// the socket).
    private func within<Value: Sendable>(
        _ limit: Duration, otherwise late: Value, _ body: @escaping @Sendable () async -> Value
    ) async -> Value {
        await withTaskGroup(of: Value?.self) { group in
            group.addTask { await body() }
            group.addTask {
                do {
                    try await Task.sleep(for: limit)
                    return late
                } catch {
                    return nil  // cancelled: `body` came first, or the connection is being torn down
                }
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return late
        }
    }
}
