import Foundation
import ReleaseSupervisor
import Testing

/// `/metrics` scraped by a real Prometheus server (Debian's `prometheus`), queried through its HTTP API, and the
/// endpoint's guards against strangers' connections.
@Suite("metrics scraped by Prometheus", .serialized)
struct PrometheusTests {
    @Test(
        "Prometheus sees the release up, its restarts grow after a kill -9, and the node's own figures",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus"),
            "needs Debian's prometheus package (scripts/install-deps.sh installs it)"))
    func scrapedByPrometheus() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let directory = try TemporaryDirectory(prefix: "controlnode-metrics")
        defer { directory.remove() }
        let metricsPort = try freeLoopbackPort()
        let config = try DaemonTests().writeConfig(fixture, to: directory, daemon: """
            metrics_listen = "127.0.0.1:\(metricsPort)"
            node_metrics_interval = "1s"
            """)
        let daemon = try await ControlDaemonFixture.start(in: directory, config: config)
        defer { daemon.stop() }
        let prometheus = try PrometheusServer.start(scraping: metricsPort, in: directory)
        defer { prometheus.stop() }

        let release = #"release="service_app",host="local""#
        #expect(
            await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
                await prometheus.value(of: "controlnode_release_up{\(release)}") == 1
            }, "controlnode_release_up never read 1: \(prometheus.log)")
        #expect(await prometheus.value(of: #"controlnode_release_status{\#(release),status="running"}"#) == 1)
        #expect(await prometheus.value(of: #"controlnode_release_info{\#(release),version="0.1.0"}"#) == 1)
        let version = try runCommand(controlnodeExecutable(), ["--version"]).output.split(separator: " ").last.map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(await prometheus.value(of: #"controlnode_build_info{version="\#(version ?? "?")"}"#) == 1)
        #expect(await prometheus.value(of: #"controlnode_ssh_connections{host="local",state="connected"}"#) == 1)

        // The node's own figures, asked once a second over the distribution connection.
        #expect(
            await eventually(timeout: .seconds(30), every: .milliseconds(500)) {
                await prometheus.value(of: "controlnode_node_processes{\(release)}") != nil
            }, "no node figures: \(daemon.process.log)")
        let processes = try #require(await prometheus.value(of: "controlnode_node_processes{\(release)}"))
        let limit = try #require(await prometheus.value(of: "controlnode_node_processes_limit{\(release)}"))
        #expect(processes > 10 && processes < limit, "\(processes) processes, limit \(limit)")
        let atoms = try #require(await prometheus.value(of: "controlnode_node_atoms{\(release)}"))
        let atomLimit = try #require(await prometheus.value(of: "controlnode_node_atoms_limit{\(release)}"))
        #expect(atoms > 1000 && atoms < atomLimit, "\(atoms) atoms, limit \(atomLimit)")
        let memory = try #require(await prometheus.value(of: #"controlnode_node_memory_bytes{\#(release),kind="total"}"#))
        #expect(memory > 1_000_000 && memory < 4_000_000_000, "\(memory) bytes")
        let uptime = try #require(await prometheus.value(of: "controlnode_node_uptime_seconds{\(release)}"))
        #expect(uptime > 0 && uptime < 3600, "uptime \(uptime) s")
        #expect(await prometheus.value(of: "controlnode_node_run_queue{\(release)}") != nil)
        #expect(await prometheus.value(of: "controlnode_rpc_duration_seconds_count") ?? 0 > 0)

        // kill -9 of the release: the daemon restarts it, and the restart counter Prometheus scrapes grows.
        let before = await prometheus.value(of: #"controlnode_release_restarts_total{\#(release),reason="node_down"}"#)
        #expect(before == 0, "restarts before the kill: \(String(describing: before))")
        let pid = try #require(try await fixture.remote().initializeState().state.osPid)
        kill(pid, SIGKILL)
        #expect(
            await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
                await prometheus.value(of: #"controlnode_release_restarts_total{\#(release),reason="node_down"}"#) == 1
            }, "the restart never showed: \(daemon.process.log)")
        #expect(
            await prometheus.value(of: #"controlnode_nodedown_total{\#(release),reason="closed_by_peer"}"#) ?? 0 >= 1)
        #expect(
            await eventually(timeout: .seconds(30), every: .milliseconds(500)) {
                await prometheus.value(of: "controlnode_release_up{\(release)}") == 1
            })
    }

    @Test("the endpoint answers only GET /metrics, closes a caller that sends no whole request, and caps connections")
    func endpointGuards() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-metrics")
        defer { directory.remove() }
        let port = try freeLoopbackPort()
        try directory.write("controlnode.toml", """
            [daemon]
            control_socket = "\(directory.file("control.sock"))"
            registry = "\(directory.file("registry"))"
            state_dir = "\(directory.path)"
            metrics_listen = "127.0.0.1:\(port)"
            """)
        let daemon = try await ControlDaemonFixture.start(in: directory, config: directory.file("controlnode.toml"))
        defer { daemon.stop() }

        let scrape = try await HTTPExchange.get("/metrics", port: port)
        #expect(scrape.hasPrefix("HTTP/1.0 200"), "\(scrape)")
        #expect(scrape.contains("Content-Type: text/plain; version=0.0.4"), "\(scrape)")
        #expect(scrape.contains("controlnode_rollout_in_progress 0"), "\(scrape)")
        #expect(try await HTTPExchange.get("/", port: port).hasPrefix("HTTP/1.0 404"))
        #expect(try await HTTPExchange.send("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", port: port).hasPrefix("HTTP/1.1 405"))

        // A caller that sends half a request is closed once the request deadline passes; the daemon answers meanwhile.
        let started = ContinuousClock.now
        let slow = try await TCPStream.connect(host: "127.0.0.1", port: port)
        try await slow.write(Array("GET /metr".utf8))
        #expect(await daemon.statusAnswers().ok)
        let end = try await slow.read(upTo: 4096)
        let waited = started.duration(to: .now)
        #expect(end.isEmpty && waited >= .seconds(9) && waited < .seconds(20), "closed after \(waited)")

        // Connections past the cap are closed at once, and those under it still get answers.
        var held: [TCPStream] = []
        for _ in 0..<16 { held.append(try await TCPStream.connect(host: "127.0.0.1", port: port)) }
        let extra = try await TCPStream.connect(host: "127.0.0.1", port: port)
        #expect(try await extra.read(upTo: 16).isEmpty)
        for stream in held { await stream.close() }
        #expect(
            await eventually(timeout: .seconds(5)) {
                (try? await HTTPExchange.get("/metrics", port: port))?.hasPrefix("HTTP/1.0 200") == true
            })
        #expect(daemon.process.log.contains("metrics: caller turned away"))
    }
}

/// One HTTP/1.0 exchange over loopback: the request, then everything until the server closes.
enum HTTPExchange {
    static func get(_ path: String, port: UInt16) async throws -> String {
        try await send("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", port: port)
    }

    static func send(_ request: String, port: UInt16) async throws -> String {
        let stream = try await TCPStream.connect(host: "127.0.0.1", port: port)
        do {
            let reply = try await exchange(request, over: stream)
            await stream.close()
            return reply
        } catch {
            await stream.close()
            throw error
        }
    }

    private static func exchange(_ request: String, over stream: TCPStream) async throws -> String {
        try await stream.write(Array(request.utf8))
        var reply: [UInt8] = []
        while true {
            let chunk = try await stream.read(upTo: 64 * 1024)
            if chunk.isEmpty { break }
            reply += chunk
            // A keep-alive answer ends at its Content-Length.
            if let text = String(bytes: reply, encoding: .utf8), let length = contentLength(text),
                let split = text.range(of: "\r\n\r\n"), text[split.upperBound...].utf8.count >= length
            {
                break
            }
        }
        return String(decoding: reply, as: UTF8.self)
    }

    private static func contentLength(_ text: String) -> Int? {
        guard let line = text.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") })
        else { return nil }
        return Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
    }
}

/// A Prometheus server on loopback scraping one controlnode every second, with its data in a test directory.
final class PrometheusServer: Sendable {
    let process: TestProcess
    let port: UInt16

    var log: String { process.log }

    static func start(scraping metricsPort: UInt16, in directory: TemporaryDirectory) throws -> PrometheusServer {
        let port = try freeLoopbackPort()
        try directory.write("prometheus.yml", """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: controlnode
                static_configs:
                  - targets: ["127.0.0.1:\(metricsPort)"]
            """)
        let process = try TestProcess(
            "/usr/bin/prometheus",
            [
                "--config.file=\(directory.file("prometheus.yml"))", "--storage.tsdb.path=\(directory.file("prometheus-data"))",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ],
            logPath: directory.file("prometheus.log"), name: "prometheus")
        return PrometheusServer(process: process, port: port)
    }

    private init(process: TestProcess, port: UInt16) {
        self.process = process
        self.port = port
    }

    /// The value of the first series an instant query returns; nil when none (or Prometheus does not answer yet).
    func value(of query: String) async -> Double? {
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        guard let reply = try? await HTTPExchange.get("/api/v1/query?query=\(encoded)", port: port),
            let body = reply.range(of: "\r\n\r\n").map({ reply[$0.upperBound...] }),
            let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
            let value = result.first?["value"] as? [Any], value.count == 2, let text = value[1] as? String
        else { return nil }
        return Double(text)
    }

    func stop() { process.stop() }
}
