public import Logging
import Synchronization

/// One SSH connection to a host, shared by every exec, upload and channel to that host.
///
/// A dedicated thread owns the libssh2 session (see `SessionLoop`); this type is the async, Sendable face of
/// it. The connection ends when `close()` is called, when the last reference goes, or when it dies: the server
/// closes it, or sends nothing for `keepaliveMaxMissed` keepalive intervals. `ended()` reports that once.
public final class SSHConnection: Sendable {
    private let loop: SessionLoop
    /// The one `hostname -s` in flight or done, shared by every caller on this connection.
    private let hostNameLookup = Locked<Task<Result<String, SSHError>, Never>?>(nil)
    /// Exec and SFTP channels open at once, bounded below the host's MaxSessions.
    private let sessionSlots = SessionSlots()

    /// The settings the connection was made with.
    public var settings: SSHSettings { loop.settings }

    /// The negotiated key exchange, host key algorithm, cipher and MAC, space-separated.
    public var negotiatedMethods: String { loop.negotiatedMethods }

    private init(loop: SessionLoop) {
        self.loop = loop
    }

    deinit { loop.requestClose() }

    /// Connects, verifies the host key under the settings' policy and authenticates.
    ///
    /// - Throws: `SSHError` naming the host and what to do: unreachable, handshake, host key, authentication.
    public static func connect(_ settings: SSHSettings, logger: Logger) async throws(SSHError) -> SSHConnection {
        SSHConnection(loop: try await SessionLoop.start(settings: settings, logger: logger))
    }

    /// Runs `command` through the user's shell on the host and collects its output and exit.
    ///
    /// - Parameters:
    ///   - input: bytes written to the command's stdin, then end of file (secrets go here, never in `command`).
    ///   - timeout: bound on the whole command; on expiry its channel is closed and `timedOut` thrown.
    /// - Throws: `SSHError` when the command could not run or the connection failed; a non-zero exit is not an error.
    public func execute(_ command: String, input: [UInt8] = [], timeout: Duration = .seconds(60))
        async throws(SSHError) -> ExecResult
    {
        try await inSession { ExecOperation(command: command, input: input, timeout: timeout, continuation: $0) }.get()
    }

    /// Starts `command` on the host as a daemon: detached from the channel (new session, stdin from /dev/null,
    /// output appended to `logPath`), so this returns as soon as it has started rather than at end of file.
    ///
    /// - Returns: the process id of the detached command on the host.
    public func startDetached(_ command: String, logPath: String, input: [UInt8] = [], timeout: Duration = .seconds(30))
        async throws(SSHError) -> Int32
    {
        let wrapped =
            "setsid sh -c \(ShellQuote.quote(command)) < /dev/null >> \(ShellQuote.quote(logPath)) 2>&1 & echo $!"
        let result = try await execute(wrapped, input: input, timeout: timeout)
        guard result.succeeded, let pid = Int32(result.stdoutText.trimmingWhitespace()) else {
            throw SSHError(
                .execFailed, host: settings.endpoint,
                detail: "could not start \(ExecOperation.summary(command)) in the background: "
                    + result.stderrText.trimmingWhitespace())
        }
        return pid
    }

    /// The host's short name (`hostname -s`, the host part of its Erlang short node names), asked once per
    /// connection: every release on the host shares the answer, so a host with many releases starts one login
    /// shell for it instead of one per release. A failed lookup is asked again by the next caller.
    ///
    /// - Throws: `SSHError` when the command could not run or printed no name.
    public func shortHostName() async throws(SSHError) -> String {
        let lookup = hostNameLookup.withLock { cached in
            if let cached { return cached }
            let task = Task { () -> Result<String, SSHError> in
                do throws(SSHError) {
                    let result = try await self.execute("hostname -s", timeout: .seconds(30))
                    let name = result.stdoutText.trimmingWhitespace()
                    guard result.succeeded, !name.isEmpty else {
                        return .failure(
                            SSHError(
                                .execFailed, host: self.settings.endpoint,
                                detail: "hostname -s failed (\(result.exit)): \(result.stderrText.trimmingWhitespace())"))
                    }
                    return .success(name)
                } catch {
                    return .failure(error)
                }
            }
            cached = task
            return task
        }
        let result = await lookup.value
        if case .failure = result { hostNameLookup.withLock { if $0 == lookup { $0 = nil } } }
        return try result.get()
    }

    /// Opens a direct-tcpip channel to `host`:`port` as seen from the server: a duplex byte stream.
    ///
    /// - Throws: `SSHError` with code `channelOpenFailed` when the server refuses (nothing listens there, or
    ///   forwarding is disabled on the host).
    public func openChannel(host: String, port: UInt16) async throws(SSHError) -> SSHChannel {
        try await SSHChannel.open(on: self, host: host, port: port)
    }

    /// Listens on 127.0.0.1 (`localPort`, or an ephemeral port when 0) and forwards each accepted connection
    /// through this connection to `host`:`port` as seen from the server.
    public func forwardLocalPort(_ localPort: UInt16 = 0, to host: String, port: UInt16) async throws(SSHError)
        -> LocalForward
    {
        try await LocalForward.start(on: self, localPort: localPort, host: host, port: port)
    }

    /// Closes the connection: channels and forwards end, commands in flight fail with `closed`.
    public func close() async {
        loop.requestClose()
        _ = await loop.ended()
    }

    /// Waits until the connection has ended, and returns why: code `closed` after `close()`, `connectionLost`
    /// when the server or the network failed. Every caller gets the same single answer.
    public func ended() async -> SSHError { await loop.ended() }

    /// Why the connection ended, or nil while it is up.
    public var endReason: SSHError? { loop.endReason }

    /// Submits work to the session thread (for the SSH layer's other files).
    func submit(_ operation: any SessionOperation) { loop.submit(operation) }

    /// Runs an operation that opens a session channel (exec or SFTP) once a session slot is free; the
    /// operation is made only then, so its timeout does not count the wait.
    func inSession<T>(
        _ make: @escaping (CheckedContinuation<Result<T, SSHError>, Never>) -> any SessionOperation
    ) async -> Result<T, SSHError> {
        await sessionSlots.withSlot {
            await withCheckedContinuation { continuation in loop.submit(make(continuation)) }
        }
    }
    func wake() { loop.wake() }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
