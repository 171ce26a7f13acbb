import ReleaseSupervisor
import Synchronization
import Foundation

/// A child process a test started with posix_spawn; waited for and stopped by its pid, never by name.
///
/// Foundation's `Process` is not used: its waiting can hang when many tests spawn and reap at once.
final class TestProcess: Sendable {
    let pid: pid_t
    let logPath: String
    let name: String
    private let exitStatus = Locked<Int32?>(nil)

    /// Starts `executable` with `arguments`; stdin is /dev/null, stdout and stderr go to `logPath`, or to
    /// `terminal`'s slave (which copies them to `logPath`).
    init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        logPath: String, terminal: PseudoTerminal? = nil, name: String? = nil
    ) throws {
        self.logPath = logPath
        self.name = name ?? (executable as NSString).lastPathComponent
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let terminal {
            posix_spawn_file_actions_addopen(&actions, 1, terminal.slavePath, O_WRONLY | O_NOCTTY, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The child starts with no blocked signals and default handlers, whatever the test's thread had:
        // otherwise a blocked SIGTERM would make every stop wait out its grace period.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let environment = environment ?? ProcessInfo.processInfo.environment
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw FixtureError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// Whether the process has not exited yet (reaps it once it has).
    var isRunning: Bool { poll() == nil }

    /// The raw wait status once it has exited, else nil.
    @discardableResult
    func poll() -> Int32? {
        exitStatus.withLock { status in
            if status != nil { return status }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            return status
        }
    }

    /// Blocks until the process exits and returns its exit code (128 + signal if a signal ended it).
    func waitForExit() -> Int32 {
        while true {
            if let code = exitCode { return code }
            usleep(2_000)
        }
    }

    /// Blocks until the process exits or `timeout` passes; its exit code, or nil if it is still running.
    func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let code = exitCode { return code }
            usleep(2_000)
        }
        return exitCode
    }

    /// Waits for the exit, at most `timeout`; a process still running then is killed and the wait throws with
    /// the end of its log, so a test fails where a daemon hung instead of stalling the run.
    func exit(within timeout: Duration) throws -> Int32 {
        if let code = waitForExit(timeout: timeout) { return code }
        let tail = log.suffix(3000)
        signal(SIGKILL)
        _ = waitForExit()
        throw FixtureError("\(name) (pid \(pid)) did not exit within \(timeout); its log ends: \(tail)")
    }

    private var exitCode: Int32? {
        poll().map { raw in raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F) }
    }

    /// The process's output so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { if isRunning { kill(pid, signal) } }

    /// SIGTERM, then SIGKILL if it is still there after `grace`; returns once it has exited.
    func stop(grace: Duration = .seconds(3)) {
        guard isRunning else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: grace)
        while isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        if isRunning { kill(pid, SIGKILL) }
        _ = waitForExit()
    }

    deinit { stop(grace: .milliseconds(500)) }
}

/// Runs a command to completion and returns its exit code and combined output. A command still running after
/// `timeout` is killed and reported as status 124 with a line saying so, so that a hung tool (apt, a build, a
/// container) fails its test with its name instead of stalling the run.
@discardableResult
func runCommand(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    timeout: Duration = .seconds(900)
) throws -> (status: Int32, output: String) {
    let logPath = NSTemporaryDirectory() + "/controlnode-cmd-\(UUID().uuidString).log"
    defer { try? FileManager.default.removeItem(atPath: logPath) }
    let process = try TestProcess(executable, arguments, environment: environment, logPath: logPath)
    guard let status = process.waitForExit(timeout: timeout) else {
        process.signal(SIGKILL)
        _ = process.waitForExit()
        let command = ([executable] + arguments).joined(separator: " ")
        return (124, process.log + "\nrunCommand: \(command.prefix(300)) did not finish within \(timeout); killed\n")
    }
    return (status, process.log)
}
