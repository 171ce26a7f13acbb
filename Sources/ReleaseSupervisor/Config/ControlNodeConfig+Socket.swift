extension ControlNodeConfig {
    /// Where the CLI finds the daemon's control socket, even when the file does not load.
    public struct SocketLookup: Sendable {
        /// The socket path: the file's `daemon.control_socket` when it can be read at all, else the default.
        public var path: String
        /// Why the file did not load, when it did not (the daemon keeps running with the configuration it
        /// loaded last, so its socket is still where the file says).
        public var problem: ConfigError?
    }

    /// The control socket the file at `file` names. A file that fails validation still names it: the TOML is
    /// read for `daemon.control_socket` alone, and failing that, its `control_socket = "…"` line under `[daemon]`.
    public static func controlSocket(inFileAt file: String) -> SocketLookup {
        let problem: ConfigError
        do {
            return SocketLookup(path: try load(path: file).config.daemon.controlSocket, problem: nil)
        } catch {
            problem = error
        }
        let fallback = DaemonConfig().controlSocket
        guard let bytes = try? LocalFile.read(file, limit: 4 << 20) else {
            return SocketLookup(path: fallback, problem: problem)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let root = try? TOMLParser.parse(text), case .table(let daemon)? = root["daemon"]?.value.kind,
            case .string(let socket)? = daemon["control_socket"]?.value.kind, socket.hasPrefix("/")
        {
            return SocketLookup(path: socket, problem: problem)
        }
        return SocketLookup(path: scanForSocket(text) ?? fallback, problem: problem)
    }

    /// `control_socket = "/path"` under `[daemon]`, read line by line from a file whose TOML does not parse.
    private static func scanForSocket(_ text: String) -> String? {
        var inDaemon = false
        for raw in text.split(separator: "\n") {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("[") {
                inDaemon = line.hasPrefix("[daemon]")
                continue
            }
            guard inDaemon, line.hasPrefix("control_socket") else { continue }
            let parts = line.split(separator: "\"")
            if parts.count >= 2, parts[1].hasPrefix("/") { return String(parts[1]) }
        }
        return nil
    }
}
