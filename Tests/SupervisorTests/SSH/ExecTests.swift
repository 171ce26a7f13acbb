import Foundation
import ReleaseSupervisor
import Testing

@Suite("SSH exec against a real sshd")
struct ExecTests {
    @Test("exit codes, stdout and stderr kept apart")
    func exitCodesAndStreams() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let connection = try await server.connect()
        let ok = try await connection.execute("echo out; echo err >&2; exit 0")
        #expect(ok.stdoutText == "out\n")
        #expect(ok.stderrText == "err\n")
        #expect(ok.exit == .status(0))
        let failing = try await connection.execute("exit 42")
        #expect(failing.exit == .status(42))
        let killed = try await connection.execute("kill -KILL $$")
        #expect(killed.exit == .signal("KILL"))
        await connection.close()
    }

    @Test("output is kept byte for byte up to 1 MiB a stream; 10 MB more are dropped and the command still ends")
    func largeBinaryOutput() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let connection = try await server.connect()
        let fits = try await connection.execute("head -c 1048576 /dev/zero | tr '\\000' 'x'")
        #expect(fits.stdout.count == ExecResult.outputLimit && !fits.truncated)
        let big = try await connection.execute("head -c 10485760 /dev/zero | tr '\\000' 'x'; echo done >&2; exit 4")
        #expect(big.stdout.count == ExecResult.outputLimit)
        #expect(big.truncated)
        #expect(big.stdout.allSatisfy { $0 == UInt8(ascii: "x") })
        #expect(big.exit == .status(4) && big.stderrText == "done\n")
        let binary = try await connection.execute("printf '\\377\\376\\000\\303'; printf '\\303\\050' >&2")
        #expect(binary.stdout == [0xFF, 0xFE, 0x00, 0xC3])
        #expect(binary.stderr == [0xC3, 0x28])
        await connection.close()
    }

    @Test("stdin reaches the command and never its command line")
    func standardInput() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let connection = try await server.connect()
        let secret = Array("s3cret-cookie".utf8)
        let result = try await connection.execute("read -r value; echo \"got:$value\"", input: secret + [10])
        #expect(result.stdoutText == "got:s3cret-cookie\n")
        await connection.close()
    }

    @Test("more commands at once than the host's MaxSessions (OpenSSH's default 10) all run: the rest wait for a slot")
    func moreCommandsThanSessions() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let connection = try await server.connect()
        let results = try await withThrowingTaskGroup(of: ExecResult.self) { group in
            for index in 0..<24 { group.addTask { try await connection.execute("sleep 0.2; echo \(index)") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 24)
        #expect(Set(results.map(\.stdoutText)) == Set((0..<24).map { "\($0)\n" }))
        await connection.close()
    }

    @Test("a command that outlives its timeout is abandoned with a timeout error")
    func timeout() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let connection = try await server.connect()
        let started = ContinuousClock.now
        await #expect {
            _ = try await connection.execute("sleep 30", timeout: .milliseconds(300))
        } throws: { ($0 as? SSHError)?.code == .timedOut }
        #expect(ContinuousClock.now - started < .seconds(5))
        // The connection still serves other commands.
        let after = try await connection.execute("echo still")
        #expect(after.stdoutText == "still\n")
        await connection.close()
    }

    @Test("a detached daemon does not hold the exec open")
    func detachedStart() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let connection = try await server.connect()
        let log = server.directory.file("daemon.log")
        let started = ContinuousClock.now
        let pid = try await connection.startDetached("echo started; exec sleep 30", logPath: log)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(pid > 0)
        #expect(kill(pid, 0) == 0)
        #expect(await eventually { (try? String(contentsOfFile: log, encoding: .utf8)) == "started\n" })
        kill(pid, SIGKILL)
        await connection.close()
    }

    @Test("many commands at once share one connection")
    func concurrentCommands() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let connection = try await server.connect()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    let result = try await connection.execute("echo \(index)")
                    #expect(result.stdoutText == "\(index)\n")
                }
            }
            try await group.waitForAll()
        }
        await connection.close()
    }
}
