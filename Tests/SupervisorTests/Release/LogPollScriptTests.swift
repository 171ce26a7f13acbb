import Foundation
@testable import ReleaseSupervisor
import Testing

@Suite("The log poll script, the eval reply and the terminal request, run or checked locally")
struct LogPollScriptTests {
    /// Runs the poll script under the local /bin/sh, as a host would, and parses its reply.
    private func poll(_ poll: LogPoll, in directory: String) throws -> LogPollReply? {
        let script = RemoteRelease.logPollScript(poll, in: directory)
        let (status, output) = try runCommand("/bin/sh", ["-c", script])
        #expect(status == 0, "\(output)")
        return LogPollReply(output: Array(output.utf8))
    }

    @Test("The newest erlang.log.N by time, sizes, a bounded tail and bounded reads from an offset")
    func script() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-log's dir")
        defer { directory.remove() }
        #expect(try poll(.tail(lines: 5, limit: 100), in: directory.file("missing")) == LogPollReply(
            newest: nil, newestSize: 0, fileSize: -1, bytes: []))
        try directory.write("erlang.log.1", "one\ntwo\nthree\n")
        try directory.write("erlang.log.2", "four\nfive\n")
        let old = Date(timeIntervalSinceNow: -60)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: directory.file("erlang.log.1"))

        let tail = try #require(try poll(.tail(lines: 1, limit: 100), in: directory.path))
        #expect(tail == LogPollReply(newest: "erlang.log.2", newestSize: 10, fileSize: 10, bytes: Array("five\n".utf8)))
        // A tail reaches back into the file before the newest.
        let across = try #require(try poll(.tail(lines: 3, limit: 100), in: directory.path))
        #expect(String(decoding: across.bytes, as: UTF8.self) == "three\nfour\nfive\n")
        let cut = try #require(try poll(.tail(lines: 2, limit: 3), in: directory.path))
        #expect(String(decoding: cut.bytes, as: UTF8.self) == "ve\n")

        let rest = try #require(try poll(.read(file: "erlang.log.1", offset: 4, limit: 5), in: directory.path))
        #expect(rest == LogPollReply(newest: "erlang.log.2", newestSize: 10, fileSize: 14, bytes: Array("two\nt".utf8)))
        let past = try #require(try poll(.read(file: "erlang.log.1", offset: 14, limit: 5), in: directory.path))
        #expect(past.bytes.isEmpty && past.fileSize == 14)
        let gone = try #require(try poll(.read(file: "erlang.log.7", offset: 0, limit: 5), in: directory.path))
        #expect(gone.fileSize == -1 && gone.bytes.isEmpty)
    }

    @Test("Names and paths reach the script only quoted")
    func quoting() {
        let script = RemoteRelease.logPollScript(.read(file: "erlang.log.1", offset: 3, limit: 9), in: "/opt/a'b $(x)")
        #expect(script.contains(#"cd '/opt/a'\''b $(x)'"#))
        #expect(script.contains("f='erlang.log.1'"))
        #expect(script.contains("tail -c +4 \"$f\" | head -c 9"))
    }

    @Test("The eval wrapper's reply: a value, an error, a timeout, anything else")
    func evaluationReply() {
        func reply(_ tag: Term, _ text: String) -> Term { .tuple("value", .tuple(tag, .binary(text)), .list([])) }
        #expect(RemoteEvaluation.outcome(of: reply("ok", "2")) == .value("2"))
        #expect(RemoteEvaluation.outcome(of: reply("error", "** (RuntimeError) boom")) == .failure("** (RuntimeError) boom"))
        #expect(RemoteEvaluation.outcome(of: reply("timeout", "")) == .timedOut)
        guard case .failure = RemoteEvaluation.outcome(of: .atom("what")) else {
            Issue.record("an unexpected reply is not a failure")
            return
        }
        // The operator's text is nowhere in the wrapper: it is bound to S.
        #expect(RemoteEvaluation.wrapper.contains("eval_string(S,"))
        #expect(RemoteEvaluation.wrapper.hasSuffix("end)()."))
    }

    @Test("A terminal request keeps only a sane TERM and size")
    func terminalRequest() {
        let request = TerminalRequest(command: "true", terminal: "xterm-256color'; rm -rf /", columns: 0, rows: 99_999)
        #expect(request.terminal == "xterm-256colorrm-rf")
        #expect(request.columns == 1 && request.rows == 1000)
        #expect(TerminalRequest(command: "true", terminal: "\u{1b}[", columns: 80, rows: 24).terminal == "xterm")
    }
}
