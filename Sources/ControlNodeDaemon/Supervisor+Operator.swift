import Logging
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// `logs`, `eval` and `remote`: an operator's look into a running release, through the actors' own connections.
extension Supervisor {
    /// `controlnode logs`: the last lines of each selected host's log, then (with `follow`) new lines about once a
    /// second, until the caller goes (the stream is cancelled, which ends the polls: nothing is left on the hosts).
    func logs(_ request: ControlRequest) -> ControlAnswer {
        guard request.release != nil else { return ControlAnswer(ControlResponse(ok: false, error: "name a release")) }
        let selected = selected(request)
        guard !selected.isEmpty else { return ControlAnswer(unknown(request)) }
        let lines = max(0, min(request.lines ?? 10, LogFollower.maximumLines))
        let follow = request.follow ?? false
        // Bounded: a caller that stops reading is dropped by the send timeout long before this fills.
        let (stream, sink) = AsyncStream.makeStream(of: ControlResponse.self, bufferingPolicy: .bufferingOldest(8192))
        let polls = Task {
            await withDiscardingTaskGroup { group in
                for (key, actor) in selected {
                    group.addTask {
                        await Self.readLog(of: actor, host: key.host, lines: lines, follow: follow, into: sink)
                    }
                }
            }
            sink.finish()
        }
        sink.onTermination = { _ in polls.cancel() }
        return ControlAnswer(ControlResponse(ok: true), streaming: stream)
    }

    /// Polls one host's log until done (without `follow`, after the first look) or cancelled.
    private static func readLog(
        of actor: ReleaseActor, host: String, lines: Int, follow: Bool,
        into sink: AsyncStream<ControlResponse>.Continuation
    ) async {
        var follower = LogFollower(lines: lines)
        var failing = false
        while !Task.isCancelled {
            var full = false
            do {
                let reply = try await actor.pollLog(follower.nextPoll)
                for line in follower.take(reply) {
                    sink.yield(ControlResponse(ok: true, line: DisplayText.sanitized(line), host: host))
                }
                full = reply.bytes.count >= LogFollower.pollLimit
                if !follow && reply.newest == nil {
                    sink.yield(ControlResponse(
                        ok: false, error: "release \(actor.release.name) on \(host): no log yet (tmp/log/erlang.log.N "
                            + "is written once the release has started through controlnode)", host: host))
                }
                if failing {
                    sink.yield(ControlResponse(ok: true, message: "the log can be read again", host: host))
                    failing = false
                }
            } catch {
                if !follow || !failing {
                    let retry = follow ? "; retrying every second" : ""
                    sink.yield(ControlResponse(ok: false, error: "\(error)\(retry)", host: host))
                }
                failing = true
            }
            guard follow else { return }
            // A full poll means more is waiting: read on at once.
            if !full { try? await Task.sleep(for: .seconds(1)) }
        }
    }

    /// `controlnode eval`: the expression's value as the node inspects it, or its error.
    func evaluate(_ request: ControlRequest) async -> ControlResponse {
        guard request.release != nil, let expression = request.expression else {
            return ControlResponse(ok: false, error: "name a release and give an expression")
        }
        let selected = selected(request)
        guard let (key, actor) = selected.first else { return unknown(request) }
        guard selected.count == 1 else {
            return ControlResponse(
                ok: false,
                error: "\(key.release) runs on \(selected.map(\.key.host).joined(separator: ", ")): "
                    + "name one with --host")
        }
        let seconds = max(1, min(request.timeout ?? 30, 3600))
        let language: RemoteEvaluation.Language = request.erlang == true ? .erlang : .elixir
        do {
            switch try await actor.evaluate(expression, language: language, timeout: .seconds(seconds)) {
            case .value(let text):
                return ControlResponse(ok: true, message: DisplayText.sanitized(text))
            case .failure(let text):
                return ControlResponse(ok: false, error: DisplayText.sanitized(text))
            case .timedOut:
                return ControlResponse(
                    ok: false,
                    error: "release \(key.release) on \(key.host): the evaluation did not finish within \(seconds) s "
                        + "and was stopped on the node; give it longer with --timeout")
            }
        } catch {
            return ControlResponse(ok: false, error: "\(error)")
        }
    }

    /// `controlnode remote`: prepares the shell on the host, answers, then relays the connection with a PTY running
    /// the release's remote shell until either end closes.
    func openShell(_ request: ControlRequest) async -> ControlAnswer {
        guard let release = request.release, let host = request.host,
            let entry = supervising[ReleaseHost(release: release, host: host)]
        else {
            return ControlAnswer(ControlResponse(ok: false, error: "name a supervised release and its host (--host)"))
        }
        let actor = entry.actor
        let shell: PreparedShell
        do {
            shell = try await actor.prepareShell()
        } catch {
            return ControlAnswer(ControlResponse(ok: false, error: "\(error)"))
        }
        let (terminal, columns, rows) = (request.terminal ?? "xterm", request.columns ?? 80, request.rows ?? 24)
        let window = TerminalWindow()
        var generator = SystemRandomNumberGenerator()
        let id = (0..<4).map { _ in String(generator.next() as UInt32, radix: 16) }.joined(separator: "-")
        shells[id] = window
        let logger = self.logger
        logger.notice(
            "remote shell opened", metadata: ["event": "remote_shell", "release": "\(release)", "host": "\(host)"])
        let response = ControlResponse(ok: true, message: "remote shell on \(release) on \(host)", shell: id)
        return ControlAnswer(response, relay: { descriptor in
            if let descriptor {
                await Self.relay(shell, of: actor, terminal: terminal, columns: columns, rows: rows, window: window,
                    descriptor: descriptor)
            } else {
                await actor.discard(shell)
            }
            await self.forgetShell(id)
            logger.notice(
                "remote shell closed",
                metadata: ["event": "remote_shell_closed", "release": "\(release)", "host": "\(host)"])
        })
    }

    /// Runs `shell` relayed with the caller's connection (`descriptor`, closed here); when it cannot start, the caller
    /// is told why on its terminal.
    private static func relay(
        _ shell: PreparedShell, of actor: ReleaseActor, terminal: String, columns: Int, rows: Int,
        window: TerminalWindow, descriptor: Int32
    ) async {
        // The relay takes a copy; this one stays to tell the caller why a shell could not start.
        let relayed = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        defer { close(descriptor) }
        do {
            guard relayed >= 0 else {
                await actor.discard(shell)
                throw ShellError("cannot duplicate the control connection (errno \(errno)); retry")
            }
            try await actor.runShell(
                shell, terminal: terminal, columns: columns, rows: rows, window: window, descriptor: relayed)
        } catch {
            let text = Array("\r\ncontrolnode: \(error)\r\n".utf8)
            _ = text.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        }
    }

    /// `remote-resize`: passes a new window size to an open remote shell's PTY.
    func resizeShell(_ request: ControlRequest) -> ControlResponse {
        guard let id = request.shell, let window = shells[id], let columns = request.columns, let rows = request.rows
        else {
            return ControlResponse(ok: false, error: "no such remote shell (it has ended)")
        }
        window.resize(columns: columns, rows: rows)
        return ControlResponse(ok: true)
    }

    private func forgetShell(_ id: String) { shells[id] = nil }
}

/// A remote shell could not be relayed on the daemon's side.
private struct ShellError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
