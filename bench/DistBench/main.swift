// DistBench: the Swift side of bench/dist.sh. Not part of the library.
//
//   DistBench rpc   --epmd-port P --node NAME --cookie C [--count N] [--warmup N] [--event-thread 1]
//       sequential rpc erlang:node/0 round trips (on the event thread with --event-thread 1); prints {"median_s":..,"p99_s":..,"count":..}
//   DistBench watch --epmd-port P --node NAME --cookie C --kill-pid PID
//       connects, kills PID with SIGKILL and prints the seconds until nodedown: {"nodedown_s":..}
//   DistBench kill  --pid PID
//       prints CLOCK_REALTIME in nanoseconds, then kills PID with SIGKILL (for the Erlang baseline)
import Foundation
import Logging
import ReleaseSupervisor

struct Options {
    var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let key = iterator.next() {
            guard key.hasPrefix("--"), let value = iterator.next() else { continue }
            values[String(key.dropFirst(2))] = value
        }
    }

    func string(_ key: String) throws -> String {
        guard let value = values[key] else { throw BenchError("missing --\(key)") }
        return value
    }

    func int(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let text = values[key] else {
            if let fallback { return fallback }
            throw BenchError("missing --\(key)")
        }
        guard let value = Int(text) else { throw BenchError("--\(key) is not a number") }
        return value
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func connect(_ options: Options) async throws -> DistributionConnection {
    let node = try NodeName(try options.string("node"))
    let epmd = EPMDClient.tcp(port: UInt16(try options.int("epmd-port")))
    guard let info = try await epmd.lookup(node.alive) else { throw BenchError("\(node) is not registered") }
    let stream = try await TCPStream.connect(host: "127.0.0.1", port: info.port)
    let configuration = DistributionConfiguration(cookie: Cookie(try options.string("cookie")))
    return try await DistributionConnection.connect(over: stream, to: node, configuration: configuration)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func benchRPC(_ options: Options) async throws {
    let count = try options.int("count", default: 10_000)
    let warmup = try options.int("warmup", default: 500)
    let connection = try await connect(options)
    if try options.int("event-thread", default: 0) == 1 {
        try await withTaskExecutorPreference(EventThread.executor) {
            try await timeRPCs(connection, count: count, warmup: warmup)
        }
    } else {
        try await timeRPCs(connection, count: count, warmup: warmup)
    }
}

func timeRPCs(_ connection: DistributionConnection, count: Int, warmup: Int) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await connection.run() }
        for _ in 0..<warmup { _ = try await connection.rpc("erlang", "node") }
        var samples: [Duration] = []
        samples.reserveCapacity(count)
        let clock = ContinuousClock()
        for _ in 0..<count {
            let start = clock.now
            _ = try await connection.rpc("erlang", "node")
            samples.append(clock.now - start)
        }
        samples.sort()
        let median = seconds(samples[samples.count / 2])
        let p99 = seconds(samples[min(samples.count - 1, samples.count * 99 / 100)])
        print("{\"median_s\":\(median),\"p99_s\":\(p99),\"count\":\(count)}")
        await connection.close()
        try await group.waitForAll()
    }
}

func benchWatch(_ options: Options) async throws {
    let victim = Int32(try options.int("kill-pid"))
    let connection = try await connect(options)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await connection.run() }
        _ = try await connection.rpc("erlang", "node")
        let clock = ContinuousClock()
        var events = connection.events.makeAsyncIterator()
        let killed = clock.now
        kill(victim, SIGKILL)
        while let event = await events.next() {
            if case .nodedown = event { break }
        }
        print("{\"nodedown_s\":\(seconds(clock.now - killed))}")
        try await group.waitForAll()
    }
}

func realtimeNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}

let arguments = CommandLine.arguments
do {
    let options = Options(arguments.dropFirst(2))
    switch arguments.count > 1 ? arguments[1] : "" {
    case "rpc":
        try await benchRPC(options)
    case "watch":
        try await benchWatch(options)
    case "kill":
        let victim = Int32(try options.int("pid"))
        let before = realtimeNanoseconds()
        kill(victim, SIGKILL)
        print(before)
    default:
        throw BenchError("usage: DistBench rpc|watch|kill --option value ...")
    }
} catch {
    FileHandle.standardError.write(Data("DistBench: \(error)\n".utf8))
    exit(1)
}
