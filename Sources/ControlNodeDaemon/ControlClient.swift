import ArgumentParser
import FoundationEssentials
import ReleaseSupervisor
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Whether this process has said that its configuration file is invalid (it says so once).
private let invalidConfigurationReported = Locked(false)

/// Where the CLI finds the daemon: `--socket`, else the configuration's `daemon.control_socket`.
struct SocketOptions: ParsableArguments {
    @Option(help: "The daemon's control socket.") var socket: String?
    @Option(help: "The configuration file, for daemon.control_socket.") var config: String = ControlNodeConfig.defaultPath

    /// The socket to use. A configuration file that does not load is said to be invalid, and where, but its
    /// `control_socket` is still used: the daemon keeps running on the configuration it loaded last.
    var path: String {
        if let socket { return socket }
        let lookup = ControlNodeConfig.controlSocket(inFileAt: config)
        if let problem = lookup.problem, invalidConfigurationReported.withLock({ reported in
            defer { reported = true }
            return !reported
        }) {
            standardError(
                "controlnode: warning: the configuration is invalid: \(problem)\n"
                    + "controlnode: asking the daemon at \(lookup.path) (a running daemon keeps its last valid configuration)")
        }
        return lookup.path
    }

    /// Sends `request` and returns the daemon's response; exits with a one-line error when there is no daemon.
    func send(_ request: ControlRequest) throws -> ControlResponse {
        try send(request, hold: false).response
    }

    /// Sends `request`; with `hold`, reads only the first line and returns the still open connection.
    func send(_ request: ControlRequest, hold: Bool) throws -> (response: ControlResponse, connection: Int32?) {
        let path = self.path
        let fd = try open(sending: request)
        var keepOpen = false
        defer { if !keepOpen { close(fd) } }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !(hold && response.last == 10) {
            let count = read(fd, &buffer, hold ? 1 : buffer.count)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        guard let decoded = try? JSONDecoder().decode(ControlResponse.self, from: Data(response)) else {
            standardError("controlnode: the daemon at \(path) sent an unreadable answer")
            throw ExitCode(1)
        }
        keepOpen = hold && decoded.ok
        return (decoded, keepOpen ? fd : nil)
    }

    /// Sends `request` and hands each response line to `each` as it arrives, until the daemon closes; returns the
    /// last line.
    func follow(_ request: ControlRequest, each: (ControlResponse) -> Void) throws -> ControlResponse {
        let fd = try open(sending: request)
        defer { close(fd) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var last: ControlResponse?
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let decoded = try? JSONDecoder().decode(ControlResponse.self, from: Data(line)) else { continue }
                each(decoded)
                last = decoded
            }
        }
        guard let last else {
            standardError("controlnode: the daemon at \(path) closed the connection without an answer")
            throw ExitCode(1)
        }
        return last
    }

    /// A connection to the daemon with `request` sent; exits with a one-line error when there is no daemon.
    private func open(sending request: ControlRequest) throws -> Int32 {
        let path = self.path
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in Array(path.utf8.prefix(raw.count - 1)).enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = errno == EACCES ? "permission denied (run as root or as a member of the controlnode group)"
                : "no controlnode daemon is listening there (start it: systemctl start controlnode)"
            standardError("controlnode: cannot reach \(path): \(reason)")
            close(fd)
            throw ExitCode(1)
        }
        let bytes = try JSONEncoder.line(request)
        // Without SIGPIPE: a daemon that turns the caller away (busy, permission) may close before the request is
        // written, and its one-line answer is still there to read.
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return fd
    }

    /// Sends a request that changes something; prints the message or fails with the daemon's error.
    func perform(_ request: ControlRequest) throws {
        let response = try send(request)
        guard response.ok else {
            standardError("controlnode: \(response.error ?? "failed")")
            throw ExitCode(1)
        }
        line(response.message ?? "done")
    }

    /// Sends a request that lists something and returns the rows `rows` picks from the answer, having printed
    /// them as JSON when `json` is set (then nil: nothing more to print); fails with the daemon's error.
    func list<Row: Encodable>(_ request: ControlRequest, json: Bool, _ rows: (ControlResponse) -> [Row]?) throws -> [Row]? {
        let response = try send(request)
        guard response.ok, let found = rows(response) else {
            standardError("controlnode: \(response.error ?? "no answer")")
            throw ExitCode(1)
        }
        guard !json else {
            line(String(decoding: try JSONEncoder().encode(found), as: UTF8.self))
            return nil
        }
        return found
    }
}

/// `controlnode start|stop|restart RELEASE [--host H]`.
struct ReleaseRequest: ParsableArguments {
    @Argument var release: String
    @Option(help: "Only this host.") var host: String?
    @OptionGroup var options: SocketOptions
}

/// A command that sends one request about a release and reports the daemon's answer.
protocol ReleaseCommand: ParsableCommand {
    /// The control-socket command, such as `stop`.
    static var command: String { get }
    var request: ReleaseRequest { get }
}

extension ReleaseCommand {
    func run() throws {
        try request.options.perform(ControlRequest(command: Self.command, release: request.release, host: request.host))
    }
}

struct Start: ReleaseCommand {
    static let configuration = CommandConfiguration(abstract: "Start the installed version (clears failed).")
    static let command = "start"
    @OptionGroup var request: ReleaseRequest
}

struct Stop: ReleaseCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the release and keep it stopped.")
    static let command = "stop"
    @OptionGroup var request: ReleaseRequest
}

struct Restart: ReleaseCommand {
    static let configuration = CommandConfiguration(abstract: "Stop and start the release in place.")
    static let command = "restart"
    @OptionGroup var request: ReleaseRequest
}

/// `controlnode tunnel RELEASE --host H`: a local port to the release's node, held open until interrupted.
struct TunnelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Print a local port forwarded to the release's distribution port; hold it open until interrupted.")
    @Argument var release: String
    @Option(help: "The host.") var host: String
    @OptionGroup var options: SocketOptions

    func run() throws {
        let (response, connection) = try options.send(
            ControlRequest(command: "tunnel", release: release, host: host), hold: true)
        guard response.ok, let connection else {
            standardError("controlnode: \(response.error ?? "no tunnel")")
            throw ExitCode(1)
        }
        line(response.message ?? "")
        // The daemon closes the tunnel when this connection ends: wait for the daemon or for a signal.
        var byte: UInt8 = 0
        while read(connection, &byte, 1) > 0 {}
    }
}

/// `controlnode reload`.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make the daemon re-read its configuration.")
    @OptionGroup var options: SocketOptions
    func run() throws { try options.perform(ControlRequest(command: "reload")) }
}

/// Prints `rows` under `header`, each column as wide as its widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for cells in [header] + rows {
        let padded = cells.enumerated().map { $1 + String(repeating: " ", count: widths[$0] - $1.count) }
        line(padded.joined(separator: "  ").trimmingTrailingSpaces())
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
