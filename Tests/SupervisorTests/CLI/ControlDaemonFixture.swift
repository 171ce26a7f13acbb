import Foundation
import ReleaseSupervisor

/// A `controlnode run` with a private control socket, notification socket and state directory, ready
/// (READY=1 came) when `start` returns; `stop()` ends it by its pid.
final class ControlDaemonFixture: Sendable {
    let directory: TemporaryDirectory
    let process: TestProcess
    let collector: NotifyCollector
    private let notify: NotifySocket

    /// The control socket.
    var socket: String { directory.file("control.sock") }

    /// Starts the daemon on `config` (a file in `directory`); with none, a configuration that supervises nothing.
    /// `WATCHDOG_USEC` is 400 ms, so the daemon pings five times a second while it answers.
    static func start(in directory: TemporaryDirectory, config: String? = nil) async throws -> ControlDaemonFixture {
        var path = config
        if path == nil {
            try directory.write("controlnode.toml", """
                [daemon]
                control_socket = "\(directory.file("control.sock"))"
                registry = "\(directory.file("registry"))"
                state_dir = "\(directory.path)"
                """)
            path = directory.file("controlnode.toml")
        }
        let notify = try NotifySocket()
        let process = try runDaemon(config: path!, in: directory, notify: notify)
        let fixture = ControlDaemonFixture(directory: directory, process: process, notify: notify)
        guard await fixture.collector.waitFor("READY=1", timeout: .seconds(60)) != nil else {
            fixture.stop()
            throw FixtureError("the daemon sent no READY=1: \(process.log)")
        }
        return fixture
    }

    /// `controlnode run` on `config` as systemd would start it: notifications to `notify`, no journal stream,
    /// a 400 ms watchdog; its output goes to `daemon.log` in `directory`.
    static func runDaemon(config: String, in directory: TemporaryDirectory, notify: NotifySocket) throws -> TestProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = "@\(notify.name)"
        environment["JOURNAL_STREAM"] = nil
        environment["WATCHDOG_USEC"] = "400000"
        environment["WATCHDOG_PID"] = nil
        return try TestProcess(
            controlnodeExecutable(), ["run", "--config", config, "--log-target", "stderr"], environment: environment,
            logPath: directory.file("daemon.log"), name: "controlnode")
    }

    private init(directory: TemporaryDirectory, process: TestProcess, notify: NotifySocket) {
        self.directory = directory
        self.process = process
        self.notify = notify
        collector = NotifyCollector(notify)
    }

    func stop() {
        process.stop()
        collector.stop()
    }

    /// Sends one request line on a connection of its own and returns the first line of the answer; nil when it
    /// does not come within `timeout`.
    func request(_ line: String, timeout: Duration = .seconds(1)) async throws -> String? {
        let socket = self.socket
        return try await offload {
            let client = try ControlSocketClient(path: socket, timeout: timeout)
            client.send(line + "\n")
            return client.readLine(timeout: timeout)
        }
    }

    /// Whether `status` answers `ok` within `timeout`, and how long it took.
    func statusAnswers(within timeout: Duration = .seconds(1)) async -> (ok: Bool, took: Duration) {
        let start = ContinuousClock.now
        let reply = try? await request(#"{"command":"status"}"#, timeout: timeout)
        return (reply?.contains(#""ok":true"#) == true, start.duration(to: .now))
    }

    /// The daemon's thread count (`Threads:` of /proc/PID/status).
    func threads() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
        return line.flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) }
    }

    /// The thread count once it has stayed the same for two seconds (at most `timeout`): a thread pool that grows
    /// for callers it is blocked on grows by about one thread a second.
    func settledThreads(timeout: Duration = .seconds(30)) async -> Int? {
        var samples: [Int] = []
        _ = await eventually(timeout: timeout, every: .milliseconds(500)) {
            guard let count = threads() else { return true }
            samples.append(count)
            return samples.count >= 5 && Set(samples.suffix(5)).count == 1
        }
        return samples.last
    }

    /// How many WATCHDOG=1 pings came during the next `interval`.
    func watchdogPings(during interval: Duration) async -> Int {
        let before = collector.messages.filter { $0.contains("WATCHDOG=1") }.count
        try? await Task.sleep(for: interval)
        return collector.messages.filter { $0.contains("WATCHDOG=1") }.count - before
    }
}
