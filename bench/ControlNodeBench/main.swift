// The measuring side of bench/run.sh: small commands that each do one thing, so that the script can time
// ours and the baseline (OpenSSH's clients) with the same stopwatch and the same load generators.
import Logging
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    let line = Array("controlnode-bench: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func settings(_ arguments: ArraySlice<String>) -> SSHSettings {
    // host port user key known_hosts
    let values = Array(arguments)
    guard values.count >= 5, let port = UInt16(values[1]) else { fail("expected HOST PORT USER KEY KNOWN_HOSTS") }
    return SSHSettings(
        address: values[0], port: port, user: values[2], authentication: .keyFile(path: values[3]),
        knownHostsPath: values[4])
}

let logger = Logger(label: "controlnode.bench")

/// Runs the command; an error ends the process with its one-line description instead of a crash report.
func reporting(_ body: () async throws -> Void) async {
    do { try await body() } catch { fail("\(error)") }
}
let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: controlnode-bench forward|pump|sink|upload|exec ...") }

await reporting {
switch arguments[1] {
case "exec":
    // exec HOST PORT USER KEY KNOWN_HOSTS COMMAND: connect, authenticate, run, print stdout.
    let connection = try await SSHConnection.connect(settings(arguments[2...6]), logger: logger)
    let result = try await connection.execute(arguments[7])
    print(result.stdoutText, terminator: "")
    await connection.close()
case "methods":
    let connection = try await SSHConnection.connect(settings(arguments[2...6]), logger: logger)
    print(connection.negotiatedMethods)
    await connection.close()
case "upload":
    // upload HOST PORT USER KEY KNOWN_HOSTS LOCAL REMOTE [SHA256]: the checksum is known in advance when given,
    // as the registry keeps it beside each tarball.
    let connection = try await SSHConnection.connect(settings(arguments[2...6]), logger: logger)
    let known = arguments.count > 9 ? arguments[9] : nil
    _ = try await connection.upload(localPath: arguments[7], to: arguments[8], knownSHA256: known)
    await connection.close()
case "forward":
    // forward HOST PORT USER KEY KNOWN_HOSTS LOCAL_PORT TARGET_PORT: hold a forward open until killed.
    let connection = try await SSHConnection.connect(settings(arguments[2...6]), logger: logger)
    guard let local = UInt16(arguments[7]), let target = UInt16(arguments[8]) else { fail("bad ports") }
    let forward = try await connection.forwardLocalPort(local, to: "127.0.0.1", port: target)
    let line = Array("listening \(forward.port)\n".utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    let reason = await connection.ended()
    fail("connection ended: \(reason)")
case "pump":
    // pump PORT BYTES: send BYTES to 127.0.0.1:PORT, half-close, wait for the peer's end of file; print seconds.
    guard let port = UInt16(arguments[2]), let total = Int(arguments[3]) else { fail("usage: pump PORT BYTES") }
    print(Pump.run(port: port, bytes: total))
case "release-store":
    // release-store REGISTRY TARBALL: validate and store a tarball, as `controlnode registry add` will.
    let registry = try Registry(directory: arguments[2])
    _ = try registry.store(arguments[3])
case "release":
    try await ReleaseBench.run(Array(arguments[2...]))
case "sink":
    // sink PORT: accept connections, read each to end of file, then close it.
    guard let port = UInt16(arguments[2]) else { fail("usage: sink PORT") }
    Pump.sink(port: port)
default:
    fail("unknown command \(arguments[1])")
}
}
