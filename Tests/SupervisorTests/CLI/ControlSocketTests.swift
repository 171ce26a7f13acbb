import Foundation
import ReleaseSupervisor
import Testing

/// The daemon's limits, as `ControlLimits` sets them (the executable's types are out of the tests' reach).
private enum Limits {
    static let requestDeadline: Duration = .seconds(5)
    static let sendTimeout: Duration = .seconds(10)
    static let clients = 64
    static let tunnels = 16
}

@Suite("the control socket: no caller stalls the others or the daemon", .serialized)
struct ControlSocketTests {
    @Test("a caller that sends its request a byte a second, or nothing, delays no other caller and is dropped at 5 s")
    func slowSender() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-control")
        defer { directory.remove() }
        let daemon = try await ControlDaemonFixture.start(in: directory)
        defer { daemon.stop() }
        let slow = try ControlSocketClient(path: daemon.socket)
        let silent = try ControlSocketClient(path: daemon.socket)
        let opened = ContinuousClock.now
        // A request that never ends, a byte a second, for longer than the deadline.
        async let dripped: Int = offload {
            var sent = 0
            for byte in #"{"command":"status","release":"#.utf8.prefix(8) {
                guard slow.send(String(decoding: [byte], as: UTF8.self)) else { break }
                sent += 1
                usleep(1_000_000)
            }
            return sent
        }
        for _ in 0..<3 {
            let (ok, took) = await daemon.statusAnswers(within: .seconds(1))
            #expect(ok, "status took \(took) while a caller was slow: \(daemon.process.log)")
            try await Task.sleep(for: .milliseconds(500))
        }
        // Both are told why, then dropped, once the deadline has passed since they connected.
        for caller in [slow, silent] {
            let line = try await offload { caller.readLine(timeout: .seconds(10)) }
            let dropped = opened.duration(to: .now)
            #expect(line?.contains("no complete request within 5") == true, "\(line ?? "no line")")
            #expect(dropped >= Limits.requestDeadline - .milliseconds(500) && dropped < Limits.requestDeadline + .seconds(2))
            let rest = try await offload { caller.drain(timeout: .seconds(2)) }
            #expect(rest.ended)
        }
        #expect(try await dripped < 8)
        #expect(await daemon.statusAnswers().ok)
    }

    @Test("callers that never read a large reply hold no thread: other callers and the watchdog go on; they are dropped")
    func stuckReaders() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-control")
        defer { directory.remove() }
        // A history of some 2 MB: far more than a Unix socket's buffer holds for a caller that does not read.
        do {
            let store = try SQLiteStateStore(directory: directory.path)
            let reason = String(repeating: "x", count: 100_000)
            for _ in 0..<20 {
                let record = OperationRecord(
                    release: "service_app", kind: .restart, version: nil, requester: Requester(uid: 0, user: "root"),
                    hosts: [])
                let id = try await store.begin(record, configRequest: nil)
                try await store.update(operation: id, result: .failed, error: reason, phase: nil)
            }
        }
        let daemon = try await ControlDaemonFixture.start(in: directory)
        defer { daemon.stop() }
        // More stuck callers than the cooperative pool has threads.
        let count = ProcessInfo.processInfo.activeProcessorCount + 2
        let stuck = try (0..<count).map { _ in try ControlSocketClient(path: daemon.socket) }
        for caller in stuck { #expect(caller.send(#"{"command":"history","limit":20}"# + "\n")) }
        let asked = ContinuousClock.now
        for _ in 0..<3 {
            let (ok, took) = await daemon.statusAnswers(within: .seconds(1))
            #expect(ok, "status took \(took) while \(count) callers did not read: \(daemon.process.log)")
        }
        let pings = await daemon.watchdogPings(during: .seconds(1))
        #expect(pings >= 2, "\(pings) watchdog pings in 1 s")
        // Each is dropped once its reply has waited the send timeout: what it then reads is cut short.
        let dropped = await eventually(timeout: Limits.sendTimeout + .seconds(10), every: .milliseconds(100)) {
            daemon.process.log.components(separatedBy: "did not take a reply").count - 1 >= count
        }
        #expect(dropped, "\(daemon.process.log)")
        #expect(asked.duration(to: .now) >= Limits.sendTimeout - .seconds(1))
        for caller in stuck {
            let read = try await offload { caller.drain(timeout: .seconds(5)) }
            #expect(read.ended && !read.complete && read.bytes < 2_000_000, "\(read)")
        }
        // A caller that reads gets all of it.
        let reader = try ControlSocketClient(path: daemon.socket)
        reader.send(#"{"command":"history","limit":20}"# + "\n")
        let whole = try await offload { reader.drain(timeout: .seconds(5)) }
        #expect(whole.ended && whole.complete && whole.bytes > 2_000_000, "\(whole)")
    }

    @Test("callers beyond the limit are turned away at once with the limit and what to do; the daemon recovers")
    func connectionLimit() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-control")
        defer { directory.remove() }
        let daemon = try await ControlDaemonFixture.start(in: directory)
        defer { daemon.stop() }
        var holders = try (0..<Limits.clients).map { _ in try ControlSocketClient(path: daemon.socket) }
        let refused = try await daemon.request(#"{"command":"status"}"#, timeout: .seconds(2))
        #expect(refused?.contains("busy") == true && refused?.contains("\(Limits.clients) control connections") == true,
            "\(refused ?? "no answer")")
        // The CLI says it in one line and fails.
        let cli = try await offload { [socket = daemon.socket] in
            try runCommand(controlnodeExecutable(), ["status", "--socket", socket])
        }
        #expect(cli.status == 1 && cli.output.contains("busy: the daemon is serving"), "\(cli.output)")
        holders.removeAll()
        #expect(await eventually(timeout: .seconds(3)) { await daemon.statusAnswers().ok }, "\(daemon.process.log)")
        #expect(daemon.process.log.contains("control_busy"))
    }

    @Test("idle tunnels hold no thread each; one beyond the limit is refused with the limit; a closed one frees its place")
    func tunnels() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let directory = try TemporaryDirectory(prefix: "controlnode-control")
        defer { directory.remove() }
        let config = try DaemonTests().writeConfig(fixture, to: directory)
        let daemon = try await ControlDaemonFixture.start(in: directory, config: config)
        defer { daemon.stop() }
        let request = #"{"command":"tunnel","release":"service_app","host":"local"}"# + "\n"
        func openTunnel() async throws -> (ControlSocketClient, String?) {
            let client = try ControlSocketClient(path: daemon.socket)
            client.send(request)
            return (client, try await offload { client.readLine(timeout: .seconds(10)) })
        }
        func port(_ line: String?) -> UInt16? {
            guard let data = line?.data(using: .utf8),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["ok"] as? Bool == true
            else { return nil }
            return (object["message"] as? String).flatMap { UInt16($0) }
        }
        var tunnels: [(client: ControlSocketClient, port: UInt16)] = []
        let (first, firstLine) = try await openTunnel()
        tunnels.append((first, try #require(port(firstLine), "\(firstLine ?? "no answer")")))
        let before = try #require(await daemon.settledThreads())
        for _ in 1..<Limits.tunnels {
            let (client, line) = try await openTunnel()
            tunnels.append((client, try #require(port(line), "\(line ?? "no answer")")))
        }
        let after = try #require(await daemon.settledThreads())
        #expect(after - before < Limits.tunnels / 2, "\(before) threads with one tunnel, \(after) with \(Limits.tunnels)")
        for tunnel in tunnels { #expect(isListening(port: tunnel.port)) }

        let (_, refusal) = try await openTunnel()
        #expect(refusal?.contains("too many tunnels: \(Limits.tunnels) are open") == true, "\(refusal ?? "no answer")")
        #expect(await daemon.statusAnswers().ok)

        // Closing a tunnel's connection closes its port and frees its place.
        let closed = tunnels.removeFirst()
        shutdown(closed.client.descriptor, Int32(SHUT_RDWR))
        #expect(await eventually { !isListening(port: closed.port) })
        var reopened: (ControlSocketClient, String?)?
        #expect(await eventually(timeout: .seconds(5)) {
            reopened = try? await openTunnel()
            return port(reopened?.1) != nil
        }, "\(reopened?.1 ?? "no answer")")
        for tunnel in tunnels { shutdown(tunnel.client.descriptor, Int32(SHUT_RDWR)) }
        for tunnel in tunnels { #expect(await eventually { !isListening(port: tunnel.port) }) }
    }
}
