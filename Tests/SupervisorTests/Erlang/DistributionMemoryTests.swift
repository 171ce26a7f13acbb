import Foundation
import Testing

@testable import ReleaseSupervisor

/// An authenticated node must not be able to grow the daemon's memory without bound: not with messages
/// nobody asked for, nor by no longer reading what we send it.
@Suite("Distribution connection memory bounds against real nodes")
struct DistributionMemoryTests {
    /// The helpers plus `flood`, a fun kept in a persistent term: `Flood(To, Size, Count)` sends `To` Count
    /// messages `{junk, I, Binary}` of Size bytes each, in the calling process, so that an RPC that applies
    /// it returns only after the last of them is on its way (and, on the one connection, ahead of the reply).
    static let evaluated = String(ErlangNodeFixture.helperProcesses.dropLast()) + """
        ,
        persistent_term:put(flood, fun(To, Size, Count) ->
            Binary = binary:copy(<<"x">>, Size),
            lists:foreach(fun(I) -> erlang:send(To, {junk, I, Binary}) end, lists:seq(1, Count))
        end).
        """

    /// Makes the node send `count` messages of `size` bytes to `target`, and returns once they have arrived.
    static func flood(_ connection: DistributionConnection, to target: Term, size: Int, count: Int) async throws {
        let flood = try await connection.rpc("persistent_term", "get", ["flood"])
        _ = try await connection.rpc("erlang", "apply", [flood, [target, .integer(size), .integer(count)]])
    }

    /// This process's resident set, in bytes, from `/proc/self/status`.
    static func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        return kilobytes * 1024
    }

    @Test("a flood of unsolicited messages nobody reads is dropped: memory stays flat and RPCs still work")
    func unsolicitedFlood() async throws {
        let fixture = try await ErlangNodeFixture("flood", eval: Self.evaluated)
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        // As in the daemon: the connection runs, and nobody reads its events.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await connection.run() }
            defer { group.cancelAll() }
            _ = try await connection.rpc("erlang", "node")  // Everything of the first call allocated once.
            let before = try Self.residentBytes()

            // 192 MiB to our process, and 64 MiB to a name we do not have.
            let me = Term.pid(connection.pid)
            try await Self.flood(connection, to: me, size: 1 << 20, count: 192)
            let missingName = Term.tuple("nobody", .atom(connection.localName.atom))
            try await Self.flood(connection, to: missingName, size: 1 << 20, count: 64)

            let growth = try Self.residentBytes() - before
            #expect(growth < 48 << 20, "resident memory grew by \(growth >> 20) MiB during a 256 MiB flood")
            #expect(connection.unsolicited.heldBytes == 0)
            let drops = connection.unsolicited.drops
            #expect(drops.messages == 256 && drops.bytes > 256 << 20)
            #expect(try await connection.rpc("erlang", "node") == .atom(fixture.nodeName.atom))
            #expect(connection.downReason == nil)
            await connection.close()
        }
    }

    @Test("with a message budget, unread messages are held up to it; reading them makes room again")
    func messageBudget() async throws {
        let fixture = try await ErlangNodeFixture("budget", eval: Self.evaluated)
        defer { fixture.stop() }
        let budget = 64 << 10
        let connection = try await fixture.connect(messageBufferLimit: budget)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await connection.run() }
            defer { group.cancelAll() }
            let me = Term.pid(connection.pid)
            try await Self.flood(connection, to: me, size: 1000, count: 1000)
            let held = connection.unsolicited.heldBytes
            #expect(held > budget - 2048 && held <= budget)
            let dropped = connection.unsolicited.drops.messages
            #expect(dropped > 900 && dropped < 1000)

            // A reply that comes after its call gave up is no message for the reader, and not held.
            let late = await #expect(throws: DistributionError.self) {
                try await connection.rpc("timer", "sleep", [300], timeout: .milliseconds(20))
            }
            #expect(late?.code == .rpcTimedOut)
            #expect(await eventually(timeout: .seconds(5)) { connection.unsolicited.drops.messages == dropped + 1 })
            #expect(connection.unsolicited.heldBytes == held)

            // The reader gets the oldest messages, in order, and each one read makes room for another.
            var iterator = connection.events.makeAsyncIterator()
            var numbers: [Int] = []
            for _ in 0..<(1000 - dropped) {
                guard case .message(.tuple(let parts))? = await iterator.next(), parts.count == 3 else { break }
                numbers.append(parts[1].intValue ?? -1)
            }
            #expect(numbers == Array(1...(1000 - dropped)))
            #expect(connection.unsolicited.heldBytes == 0)
            try await Self.flood(connection, to: me, size: 1000, count: 3)
            #expect(connection.unsolicited.heldBytes > 3000)
            await connection.close()
        }
    }

    /// Whether process `pid` is stopped (state `T` in /proc/PID/stat).
    static func isStopped(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("T")
    }

    @Test("a node that stops reading is disconnected once our queue for it passes the limit, with that reason")
    func stoppedReader() async throws {
        let fixture = try await ErlangNodeFixture("stalled")
        defer { fixture.stop() }
        let limit = 1 << 20
        let connection = try await fixture.connect(maximumQueuedOutput: limit)
        try await running(connection) { recorder in
            #expect(try await connection.rpc("erlang", "node") == .atom(fixture.nodeName.atom))
            kill(fixture.node.pid, SIGSTOP)
            defer { kill(fixture.node.pid, SIGCONT) }
            // Stopped before the call goes out, so the call can only end with the connection (it used to be answered
            // now and then, when the node replied before the signal landed).
            let pid = fixture.node.pid
            #expect(await eventually(timeout: .seconds(5)) { Self.isStopped(pid) })
            let pending = Task { try await connection.rpc("erlang", "node", timeout: .seconds(30)) }
            // The sockets' kernel buffers take some megabytes first: 256 MiB is far more than they hold.
            let chunk = Term.binary([UInt8](repeating: 7, count: 64 << 10))
            var sends = 0
            while sends < 4096, (try? connection.send(to: "echo", .tuple(.pid(connection.pid), chunk))) != nil {
                sends += 1
                if sends % 16 == 0 { try await Task.sleep(for: .milliseconds(1)) }  // Lets the writer run.
            }
            let down = await recorder.nodedown(within: .seconds(10))
            guard case .notReading(let queued, let reportedLimit)? = down?.reason else {
                Issue.record("no nodedown as not reading after \(sends) sends: \(String(describing: down))")
                return
            }
            #expect(reportedLimit == limit && queued <= limit && queued > limit - (70 << 10))
            #expect(down?.reason.description.contains("stopped reading") == true)
            #expect(sends < 4096)
            let error = await #expect(throws: DistributionError.self) { try await pending.value }
            #expect(error?.code == .nodeDown)
        }
    }

    @Test("over an SSH channel too, a node that stops reading is disconnected and the connection's run ends")
    func stoppedReaderOverSSH() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let node = try await ErlangNodeFixture("stalled_ssh")
        defer { node.stop() }
        let ssh = try await server.connect()
        let channel = try await ssh.openChannel(host: "127.0.0.1", port: try await node.distributionPort())
        let limit = 1 << 20
        let connection = try await DistributionConnection.connect(
            over: channel, to: node.nodeName,
            configuration: DistributionConfiguration(cookie: Cookie(node.cookie), maximumQueuedOutput: limit))
        let running = Task { await connection.run() }
        defer { running.cancel() }
        #expect(try await connection.rpc("erlang", "node") == .atom(node.nodeName.atom))
        kill(node.node.pid, SIGSTOP)
        defer { kill(node.node.pid, SIGCONT) }
        // A channel's writes wait for the SSH window, so the queue fills once sshd's socket to the node has.
        let chunk = Term.binary([UInt8](repeating: 7, count: 64 << 10))
        var sends = 0
        while sends < 4096, (try? connection.send(to: "echo", .tuple(.pid(connection.pid), chunk))) != nil {
            sends += 1
            if sends % 16 == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(sends < 4096)
        guard case .notReading(_, let reportedLimit)? = connection.downReason else {
            Issue.record("not down as not reading: \(String(describing: connection.downReason))")
            return
        }
        #expect(reportedLimit == limit)
        // run() returns although its writer was waiting on the stalled channel.
        let ended = Task {
            await running.value
            return true
        }
        #expect(await eventually(timeout: .seconds(5)) { connection.downReason != nil })
        let returned = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await ended.value }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return false
            }
            defer { group.cancelAll() }
            return await group.next() ?? false
        }
        #expect(returned, "run() did not return within 5 s of the connection going down")
        await ssh.close()
    }
}
