import Foundation

/// A child process a test started; stopped by its pid, never by name.
final class TestProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched through Foundation's thread-safe Process API.
    let process: Process
    let logPath: String
    let name: String

    /// Starts `executable` with `arguments`; stdout and stderr go to `logPath`.
    init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        logPath: String, name: String? = nil
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        self.logPath = logPath
        self.name = name ?? (executable as NSString).lastPathComponent
        try process.run()
        try? log.close()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The process's output so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { if process.isRunning { kill(pid, signal) } }

    /// SIGTERM, then SIGKILL if it is still there after `grace`; waits until it has exited.
    func stop(grace: Duration = .seconds(3)) {
        guard process.isRunning else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: grace)
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop(grace: .milliseconds(500)) }
}

/// Runs a command to completion and returns its exit status and combined output.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (
    status: Int32, output: String
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
