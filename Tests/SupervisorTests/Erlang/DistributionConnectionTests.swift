import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("Distribution connection against real nodes")
struct DistributionConnectionTests {
    @Test("handshake with a short-name node, then rpc erlang:node/0")
    func shortNames() async throws {
        let fixture = try await ErlangNodeFixture("short")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        #expect(!connection.localName.usesLongNames)
        try await running(connection) { _ in
            let node = try await connection.rpc("erlang", "node")
            #expect(node == .atom(fixture.nodeName.atom))
        }
    }

    @Test("handshake with a long-name node, then rpc erlang:node/0")
    func longNames() async throws {
        let fixture = try await ErlangNodeFixture("long", longNames: true)
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        #expect(connection.localName.usesLongNames)
        try await running(connection) { _ in
            let node = try await connection.rpc("erlang", "node")
            #expect(node == .atom(fixture.nodeName.atom))
        }
    }

    @Test("a wrong cookie is a clear error that does not show the cookie")
    func wrongCookie() async throws {
        let fixture = try await ErlangNodeFixture("cookie")
        defer { fixture.stop() }
        let wrong = "wrong-cookie-\(UInt32.random(in: 0...UInt32.max))"
        let error = await #expect(throws: DistributionError.self) { try await fixture.connect(cookie: wrong) }
        #expect(error?.code == .cookieRejected)
        let message = error.map { String(describing: $0) } ?? ""
        #expect(message.contains("cookie rejected by node \(fixture.nodeName)"))
        #expect(!message.contains(wrong) && !message.contains(fixture.cookie))
        #expect(!String(reflecting: error as Any).contains(wrong))
    }

    @Test("rpc returns application lists and large replies")
    func rpcReplies() async throws {
        let fixture = try await ErlangNodeFixture("rpc")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        try await running(connection) { _ in
            let applications = try await connection.rpc("application", "which_applications")
            let names = applications.listElements?.compactMap { $0.tupleElements?.first?.atomValue } ?? []
            #expect(names.contains("kernel") && names.contains("stdlib"))

            let sequence = try await connection.rpc("lists", "seq", [1, 100_000])
            let elements = try #require(sequence.listElements)
            #expect(elements.count == 100_000)
            #expect(elements.first == 1 && elements.last == 100_000 && elements[54_321] == 54_322)

            let release = try await connection.rpc("erlang", "system_info", ["otp_release"])
            #expect(release.stringValue?.isEmpty == false)
        }
    }

    @Test("rpc to a missing module is badrpc with the reason")
    func badRPC() async throws {
        let fixture = try await ErlangNodeFixture("badrpc")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        try await running(connection) { _ in
            let error = await #expect(throws: DistributionError.self) {
                try await connection.rpc("no_such_module", "nothing", [1])
            }
            #expect(error?.code == .badRPC)
            let reason = error?.reason?.tupleElements
            #expect(reason?.first == "EXIT")
            #expect(reason?.last?.tupleElements?.first == "undef")
            // The connection is still usable afterwards.
            let node = try await connection.rpc("erlang", "node")
            #expect(node == .atom(fixture.nodeName.atom))
        }
    }

    @Test("50 concurrent RPCs each get their own reply")
    func concurrentRPCs() async throws {
        let fixture = try await ErlangNodeFixture("concurrent")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        try await running(connection) { _ in
            try await withThrowingTaskGroup(of: (Int, Term).self) { group in
                for count in 1...50 {
                    group.addTask { (count, try await connection.rpc("lists", "seq", [1, .integer(count)])) }
                }
                var seen = 0
                for try await (count, reply) in group {
                    #expect(reply.listElements?.count == count && reply.listElements?.last == .integer(count))
                    seen += 1
                }
                #expect(seen == 50)
            }
        }
    }

    @Test("RPCs from a task on the event thread, large replies and timeouts included")
    func rpcOnEventThread() async throws {
        let fixture = try await ErlangNodeFixture("eventthread")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        try await withTaskExecutorPreference(EventThread.executor) {
            try await running(connection) { _ in
                for _ in 0..<200 { #expect(try await connection.rpc("erlang", "node") == .atom(fixture.nodeName.atom)) }
                let large = try await connection.rpc("lists", "seq", [1, 100_000])
                #expect(large.listElements?.count == 100_000)
                let error = await #expect(throws: DistributionError.self) {
                    try await connection.rpc("timer", "sleep", [2_000], timeout: .milliseconds(100))
                }
                #expect(error?.code == .rpcTimedOut)
            }
        }
    }

    @Test("every kind of term survives a trip through an echo process on the node")
    func echoRoundTrip() async throws {
        let fixture = try await ErlangNodeFixture("echo")
        defer { fixture.stop() }
        let connection = try await fixture.connect(messageBufferLimit: 1 << 20)
        try await running(connection) { recorder in
            let exportFun = try await connection.rpc("erlang", "make_fun", ["erlang", "node", 0])
            let remotePid = try await connection.rpc("erlang", "whereis", ["echo"])
            let remoteReference = try await connection.rpc("erlang", "make_ref")
            let ports = try await connection.rpc("erlang", "ports")
            let remotePort = try #require(ports.listElements?.first)
            let localFun = try TermDecoder().decode(ErlangVectors.shellClosure)
            var fixed: [Term] = [
                "ok", "Elixir.MyApp.Worker", .atom(Atom(String(repeating: "ä", count: 255))), 0, 255, 256, -1,
                .integer(Int(Int32.max) + 1), .integer(Int.min), .integer(Int.max),
                .integer(BigInteger("-123456789012345678901234567890123456789")!), 3.25, -0.5, 1e300,
                .binary([]), .binary([0, 1, 255]), .bitBinary(BitBinary(bytes: [0xF0, 0x80], bitsInLastByte: 1)!),
                .emptyList, .charlist("hello"), [1, 2, 1000], .improperList([1, 2], tail: "tail"), .tuple([]),
                .tuple((0..<300).map { .integer($0) }), ["a": 1, .tuple("x", 2): [3]],
                .pid(connection.pid), remotePid, remoteReference, remotePort, exportFun, localFun,
            ]
            var generator = TermGenerator(seed: 2026)
            generator.nodes = [connection.localName.atom, "other@somewhere"]
            fixed += (0..<150).map { _ in generator.term(depth: 3) }

            for (index, term) in fixed.enumerated() {
                try connection.send(to: "echo", .tuple(.pid(connection.pid), term))
                let echoed = await recorder.first { event in
                    if case .message(.tuple(let parts)) = event, parts.count == 2, parts[0] == "echo",
                        parts[1] == term
                    {
                        return true
                    }
                    return false
                }
                #expect(echoed != nil, "term \(index) did not come back equal: \(term)")
                if echoed == nil { break }
            }
        }
    }

    @Test("a monitored process that exits gives DOWN with its reason; a missing one gives noproc")
    func monitors() async throws {
        let fixture = try await ErlangNodeFixture("monitor")
        defer { fixture.stop() }
        let connection = try await fixture.connect()
        try await running(connection) { recorder in
            guard case .pid(let sleeper) = try await connection.rpc("erlang", "spawn", ["timer", "sleep", ["infinity"]])
            else { throw FixtureError("spawn did not return a pid") }
            let reference = try connection.monitor(sleeper)
            _ = try await connection.rpc("erlang", "exit", [.pid(sleeper), .tuple("shutdown", "because")])
            let down = await recorder.first { event in
                if case .processDown(let down) = event { return down.reference == reference }
                return false
            }
            #expect(down?.event == .processDown(ProcessDown(
                reference: reference, process: .pid(sleeper), reason: .tuple("shutdown", "because"))))

            let missing = try connection.monitor(registeredName: "no_such_process")
            let noproc = await recorder.first { event in
                if case .processDown(let down) = event { return down.reference == missing }
                return false
            }
            if case .processDown(let down)? = noproc?.event {
                #expect(down.reason == "noproc")
            } else {
                Issue.record("no DOWN for a missing registered name")
            }

            // A demonitored process's exit gives no event.
            guard case .pid(let other) = try await connection.rpc("erlang", "spawn", ["timer", "sleep", ["infinity"]])
            else { throw FixtureError("spawn did not return a pid") }
            let cancelled = try connection.monitor(other)
            try connection.demonitor(cancelled)
            _ = try await connection.rpc("erlang", "exit", [.pid(other), "kill"])
            let none = await recorder.first(within: .milliseconds(300)) { event in
                if case .processDown(let down) = event { return down.reference == cancelled }
                return false
            }
            #expect(none == nil)
        }
    }

    @Test("signals from the node that we do not use are handled safely")
    func unusedControlMessages() async throws {
        let fixture = try await ErlangNodeFixture("signals")
        defer { fixture.stop() }
        let connection = try await fixture.connect(messageBufferLimit: 1 << 20)
        try await running(connection) { recorder in
            let me = Term.pid(connection.pid)
            // LINK then UNLINK_ID, which we must acknowledge.
            try connection.send(to: "prober", .tuple("link_unlink", me, me))
            #expect(await recorder.first { $0 == .message("unlinked") } != nil)
            // A monitor of a name on our node that does not exist: we answer noproc, as a node would.
            try connection.send(to: "prober", .tuple("monitor", .tuple("nobody", .atom(connection.localName.atom)), me))
            #expect(await recorder.first { $0 == .message(.tuple("down", "noproc")) } != nil)
            // net_adm:ping of our node from the node.
            try connection.send(to: "prober", .tuple("ping", .atom(connection.localName.atom), me))
            #expect(await recorder.first { $0 == .message(.tuple("pong", "pong")) } != nil)
            // RPC output goes to us as group leader and is accepted.
            let printed = try await connection.rpc("io", "format", [.charlist("hello from the node~n")])
            #expect(printed == "ok")
            #expect(connection.downReason == nil)
        }
    }
}
