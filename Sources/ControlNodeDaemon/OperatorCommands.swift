import ArgumentParser
import ReleaseSupervisor

/// `controlnode logs RELEASE [--host H] [-n LINES] [-f]`.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a release's own log on its hosts (run_erl's tmp/log/erlang.log.N); -f follows it.",
        discussion: """
            Without --host, every host of the release is shown, each line prefixed with its host. -f follows the log \
            across run_erl's rotation until interrupted; nothing is left running on the hosts.
            """)
    @Argument var release: String
    @Option(help: "Only this host (its lines are not prefixed).") var host: String?
    @Option(name: [.customShort("n"), .customLong("lines")], help: "Show the last LINES lines first (at most 10000).")
    var lines: Int = 10
    @Flag(name: [.customShort("f"), .long], help: "Follow the log until interrupted.") var follow = false
    @OptionGroup var options: SocketOptions

    func run() throws {
        guard (0...LogFollower.maximumLines).contains(lines) else {
            throw ValidationError("-n takes 0 to \(LogFollower.maximumLines) lines")
        }
        var failed = false
        let prefixed = host == nil
        let request = ControlRequest(command: "logs", release: release, host: host, lines: lines, follow: follow)
        _ = try options.follow(request) { response in
            if let text = response.line {
                line(prefixed ? "\(response.host ?? "?"): \(text)" : text)
            } else if !response.ok {
                failed = true
                standardError("controlnode: \(response.error ?? "failed")")
            } else if let message = response.message {
                standardError("controlnode: \(response.host.map { "\($0): " } ?? "")\(message)")
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// `controlnode eval RELEASE [--host H] [--erlang] [--timeout S] EXPRESSION`.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate an Elixir (or, with --erlang, Erlang) expression on the release's node; print the result.",
        discussion: """
            The result is printed as the node inspects it (Elixir inspect/2, Erlang ~tp), at most 64 KiB. An exception \
            or a syntax error is printed with exit status 1. The expression runs in a process of its own on the node, \
            which is killed when --timeout passes.
            """)
    @Argument var release: String
    @Argument(help: "The expression, such as 'Application.started_applications()' or, with --erlang, 'node().'")
    var expression: String
    @Option(help: "The host (needed when the release runs on several).") var host: String?
    @Flag(help: "The expression is Erlang.") var erlang = false
    @Option(help: "Seconds the evaluation may take (1 to 3600).") var timeout: Int = 30
    @OptionGroup var options: SocketOptions

    func run() throws {
        guard (1...3600).contains(timeout) else { throw ValidationError("--timeout takes 1 to 3600 seconds") }
        let response = try options.send(
            ControlRequest(
                command: "eval", release: release, host: host, expression: expression, erlang: erlang,
                timeout: timeout))
        guard response.ok else {
            // Elixir's exceptions print as `** (RuntimeError) …`: shown as the node formats them.
            let error = response.error ?? "failed"
            standardError(error.hasPrefix("**") ? error : "controlnode: \(error)")
            throw ExitCode(1)
        }
        line(response.message ?? "")
    }
}
