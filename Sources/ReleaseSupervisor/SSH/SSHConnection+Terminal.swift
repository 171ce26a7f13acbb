import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A command to run on a PTY on the host, as an interactive terminal (a remote shell).
public struct TerminalRequest: Sendable, Equatable {
    /// The script, run under `/bin/sh` on the host (`RemoteShell`); it must not hold secrets (they go in files).
    public var command: String
    /// The terminal type (`TERM`), such as `xterm-256color`.
    public var terminal: String
    /// Its width in characters.
    public var columns: Int
    /// Its height in lines.
    public var rows: Int

    /// Creates a request; the type is reduced to letters, digits and `.+-_` (`xterm` when nothing is left) and the
    /// size kept within 1…1000.
    public init(command: String, terminal: String, columns: Int, rows: Int) {
        self.command = command
        let allowed = terminal.unicodeScalars.filter { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || ".+-_".unicodeScalars.contains(scalar)
        }
        let type = String(String.UnicodeScalarView(allowed.prefix(64)))
        self.terminal = type.isEmpty ? "xterm" : type
        self.columns = max(1, min(columns, 1000))
        self.rows = max(1, min(rows, 1000))
    }
}

/// A terminal's size as the operator's window changes: set from any thread, passed to the host's PTY by the relay on
/// the session thread.
public final class TerminalWindow: Sendable {
    private struct State {
        var pending: (columns: Int, rows: Int)?
        var wake: (@Sendable () -> Void)?
    }

    private let state = Locked(State())

    /// A window whose size has not changed yet.
    public init() {}

    /// Asks for the PTY to be `columns` × `rows` (kept within 1…1000); the latest size asked for wins.
    public func resize(columns: Int, rows: Int) {
        let wake = state.withLock { state in
            state.pending = (max(1, min(columns, 1000)), max(1, min(rows, 1000)))
            return state.wake
        }
        wake?()
    }

    /// The size asked for since the last call, if any (session thread).
    func takePending() -> (columns: Int, rows: Int)? {
        state.withLock { state in
            defer { state.pending = nil }
            return state.pending
        }
    }

    /// Puts back a size the server could not take yet, unless a newer one came meanwhile (session thread).
    func putBack(_ size: (columns: Int, rows: Int)) {
        state.withLock { state in if state.pending == nil { state.pending = size } }
    }

    func attach(wake: @escaping @Sendable () -> Void) {
        state.withLock { $0.wake = wake }
    }
}

extension SSHConnection {
    /// Runs `request` on a PTY on the host and relays it with the local socket `descriptor` until either ends: the
    /// command exiting closes the socket's write side, the socket's peer closing closes the channel (the command gets
    /// SIGHUP, as when an ssh client goes). Cancellation ends the relay too. The bytes move on the session thread,
    /// through the same relay as a forwarded connection.
    ///
    /// The PTY's session channel is not counted against the connection's session slots: an operator's shell may last
    /// hours, and holding a slot that long would starve deploys; the control socket caps shells (`ControlLimits`).
    ///
    /// - Parameters:
    ///   - descriptor: a connected stream socket, taken over: made non-blocking and closed when the relay ends.
    ///   - window: where the operator's window size changes come from, if they are followed.
    /// - Throws: `SSHError` when the terminal could not be set up or the connection failed.
    public func relayTerminal(_ request: TerminalRequest, descriptor: Int32, window: TerminalWindow? = nil)
        async throws(SSHError)
    {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        let relay = ForwardedConnection(descriptor: descriptor, terminal: request, window: window)
        // The window holds no reference to the relay; waking the session thread is all it needs.
        window?.attach { [weak self] in self?.wake() }
        let failure: SSHError? = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<SSHError?, Never>) in
                // Set before the relay goes to the session thread, which alone touches it afterwards.
                relay.finished = { continuation.resume(returning: $0) }
                submit(relay)
            }
        } onCancel: {
            relay.stopRequested.store(true, ordering: .releasing)
            wake()
        }
        if let failure { throw failure }
    }
}
