import ArgumentParser
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// `controlnode remote RELEASE --host H`: an interactive remote shell (IEx, or Erlang's) on the release's node, on a
/// PTY the daemon opens over its SSH connection to the host, relayed through the control socket.
struct RemoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote",
        abstract: "Open an interactive remote shell on the release's node, as bin/<name> remote does on the host.",
        discussion: """
            The shell runs on the host, on a terminal the daemon opens over its own SSH connection: no SSH key for \
            the host and no Erlang are needed here, and the cookie is never shown. Ctrl-C and Ctrl-G go to the \
            remote shell as they would locally; Ctrl-G then q (or Ctrl-C then a) ends the shell and leaves the node \
            running. The end of stdin ends the shell too.
            """)
    @Argument var release: String
    @Option(help: "The host.") var host: String
    @OptionGroup var options: SocketOptions

    func run() throws {
        let interactive = isatty(0) == 1
        let size = Self.windowSize() ?? (80, 24)
        let terminal = getenv("TERM").map { String(cString: $0) } ?? "xterm"
        let request = ControlRequest(
            command: "remote", release: release, host: host, terminal: terminal, columns: size.columns, rows: size.rows)
        let (response, connection) = try options.send(request, hold: true)
        guard response.ok, let connection else {
            standardError("controlnode: \(response.error ?? "no remote shell")")
            throw ExitCode(1)
        }
        defer { close(connection) }
        standardError(
            "controlnode: \(response.message ?? "remote shell"); Ctrl-G then q ends it and leaves the node running")
        // Writes to a closed stdout must end the relay, not the process (the terminal would stay raw).
        signal(SIGPIPE, SIG_IGN)
        if interactive {
            RawTerminal.enter()
        }
        defer { RawTerminal.restore() }
        relay(connection, shell: response.shell)
        RawTerminal.restore()
        standardError("controlnode: the remote shell ended")
    }

    /// Copies stdin to the connection and the connection to stdout until the connection ends; the end of stdin
    /// ends the shell (the daemon closes it when the connection's write side closes).
    ///
    /// A resized window (SIGWINCH) is passed on to the shell's PTY with a `remote-resize` request of its own.
    private func relay(_ connection: Int32, shell: String?) {
        var buffer = [UInt8](repeating: 0, count: 16384)
        var inputOpen = true
        let resized = RawTerminal.resizes
        while true {
            var descriptors = [
                pollfd(fd: connection, events: Int16(POLLIN), revents: 0),
                pollfd(fd: resized, events: Int16(POLLIN), revents: 0),
            ]
            if inputOpen { descriptors.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            if poll(&descriptors, nfds_t(descriptors.count), -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if descriptors[1].revents != 0 {
                while read(resized, &buffer, buffer.count) > 0 {}
                if let shell, let size = Self.windowSize() {
                    _ = try? options.send(
                        ControlRequest(
                            command: "remote-resize", release: release, host: host, columns: size.columns,
                            rows: size.rows, shell: shell))
                }
            }
            if descriptors[0].revents != 0 {
                let count = read(connection, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 || !writeAll(1, buffer, count) { return }
            }
            if inputOpen, descriptors[2].revents != 0 {
                let count = read(0, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 {
                    inputOpen = false
                    shutdown(connection, Int32(SHUT_WR))
                } else if !writeAll(connection, buffer, count) {
                    return
                }
            }
        }
    }

    /// The terminal's size (stdout's, else stdin's), if either is a terminal.
    private static func windowSize() -> (columns: Int, rows: Int)? {
        for descriptor: Int32 in [1, 0] {
            var size = winsize()
            if withUnsafeMutablePointer(to: &size, { ioctl(descriptor, UInt(TIOCGWINSZ), $0) }) == 0, size.ws_col > 0,
                size.ws_row > 0
            {
                return (Int(size.ws_col), Int(size.ws_row))
            }
        }
        return nil
    }

    private func writeAll(_ descriptor: Int32, _ bytes: [UInt8], _ count: Int) -> Bool {
        var written = 0
        while written < count {
            let result = bytes.withUnsafeBytes {
                descriptor == 1
                    ? write(descriptor, $0.baseAddress! + written, count - written)
                    : send(descriptor, $0.baseAddress! + written, count - written, Int32(MSG_NOSIGNAL))
            }
            if result < 0 && errno == EINTR { continue }
            if result <= 0 { return false }
            written += result
        }
        return true
    }
}

/// The terminal on stdin in raw mode (cfmakeraw) for a remote shell, and put back as it was on every way out: a
/// normal return, an error, and the signals that end the process (their handlers restore it, then exit).
enum RawTerminal {
    /// The settings before raw mode. Written once by `enter` before any handler is installed, then only read (by
    /// `restore`, on the main thread or in a signal handler): nothing else touches it.
    nonisolated(unsafe) private static var saved = termios()
    /// Whether `saved` holds settings to put back. Atomic enough for its use: set before the handlers go in, and a
    /// second restore only repeats the first.
    nonisolated(unsafe) private static var active = false
    /// A pipe the SIGWINCH handler writes a byte to; set once by `enter` before the handler is installed.
    nonisolated(unsafe) private static var resizePipe: (read: Int32, write: Int32) = (-1, -1)

    /// The descriptor that becomes readable when the window was resized (-1, never readable, outside raw mode).
    static var resizes: Int32 { resizePipe.read }

    /// Saves the terminal's settings, installs the restoring signal handlers and switches to raw mode.
    static func enter() {
        guard tcgetattr(0, &saved) == 0 else { return }
        active = true
        for signal in [SIGTERM, SIGHUP, SIGINT, SIGQUIT] {
            _ = Glibc.signal(signal) { number in
                RawTerminal.restore()
                _exit(128 + number)
            }
        }
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            }
            resizePipe = (ends[0], ends[1])
            _ = Glibc.signal(SIGWINCH) { _ in
                var byte: UInt8 = 1
                _ = write(RawTerminal.resizePipe.write, &byte, 1)
            }
        }
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(0, TCSANOW, &raw)
    }

    /// Puts the saved settings back (async-signal-safe: one tcsetattr).
    static func restore() {
        guard active else { return }
        tcsetattr(0, TCSANOW, &saved)
    }
}
