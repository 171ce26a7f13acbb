import ArgumentParser
import FoundationEssentials
import ReleaseSupervisor

/// `controlnode events [RELEASE] [--host H] [--since DURATION] [--limit N] [--follow] [--json]`.
struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show recent events (node down, restarts, health failures, rollout steps); --follow streams new ones.")
    @Argument(help: "Only this release.") var release: String?
    @Option(help: "Only this host (a rollout's own events are shown too).") var host: String?
    @Option(help: "The events of the last DURATION, from the state store too: 90s, 10m, 2h, 1d, 1h30m.") var since: String?
    @Option(help: "At most this many earlier events (50, or 1000 with --since).") var limit: Int?
    @Flag(help: "Then print each new event as it happens, until interrupted.") var follow = false
    @Flag(help: "Print one JSON object per line for scripts.") var json = false
    @OptionGroup var options: SocketOptions

    func validate() throws {
        if let since, EventAge.seconds(since) == nil {
            throw ValidationError("--since \(since): give a duration such as 90s, 10m, 2h, 1d or 1h30m")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        var request = ControlRequest(command: "events", release: release, host: host)
        request.since = since.flatMap(EventAge.seconds)
        request.limit = limit
        request.follow = follow ? true : nil
        var failure: String?
        let last = try options.follow(request) { response in
            if let message = response.message { standardError("controlnode: \(message)") }
            for event in response.events ?? [] { show(event) }
            if let event = response.event { show(event) }
            if !response.ok { failure = response.error ?? "the daemon refused" }
        }
        if let failure {
            standardError("controlnode: \(failure)")
            throw ExitCode(1)
        }
        if follow && last.done != true {
            standardError("controlnode: the daemon ended the stream (it is stopping or restarting)")
            throw ExitCode(1)
        }
    }

    private func show(_ event: EventRow) {
        if json {
            line((try? String(decoding: JSONEncoder().encode(event), as: UTF8.self)) ?? "{}")
        } else {
            line(event.text)
        }
    }
}
