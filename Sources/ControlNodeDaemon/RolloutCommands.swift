import ArgumentParser
import FoundationEssentials
import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// What `deploy` and `rollback` share: the hosts, detaching, and following the rollout until it ends.
struct RolloutOptions: ParsableArguments {
    @Option(name: .customLong("host"), help: "Only this host (repeat for several).") var hosts: [String] = []
    @Flag(help: "Print the rollout's id and return at once; the rollout goes on in the daemon.") var detach = false
    @OptionGroup var options: SocketOptions

    /// Sends `request`; unless detached, follows the rollout and exits 0 only when it succeeded.
    func run(_ request: ControlRequest) throws {
        var request = request
        request.hosts = hosts.isEmpty ? nil : hosts
        request.detach = detach
        if detach {
            try options.perform(request)
            return
        }
        let view = RolloutView(live: isatty(1) == 1)
        RolloutView.detachOnInterrupt()
        let last = try options.follow(request) { response in
            if let id = response.rollout { RolloutView.rollout = id }
            if let update = response.update { view.show(update) } else if let message = response.message { view.note(message) }
        }
        view.finish()
        guard last.ok else {
            standardError("controlnode: \(last.error ?? "the rollout did not succeed")")
            throw ExitCode(1)
        }
        if last.done != true, let message = last.message { line(message) }
    }
}

/// `controlnode deploy RELEASE VERSION [--host H]... [--max-parallel N] [--canary N] [--force] [--detach]`.
struct Deploy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll a version from the registry out to the release's hosts, health-gated; follow it until it ends.")
    @Argument var release: String
    @Argument var version: String
    @Option(help: "Hosts taken down at once (the release's update.max_parallel by default).") var maxParallel: Int?
    @Option(help: "Hosts changed first; the rest wait for `controlnode rollout promote`.") var canary: Int?
    @Flag(help: "Deploy a quarantined version anyway (lifts its quarantine).") var force = false
    @Flag(help: "Accepted for compatibility: a rollout always replaces the running version.") var replace = false
    @OptionGroup var rollout: RolloutOptions

    func run() throws {
        var request = ControlRequest(command: "deploy", release: release, version: version, replace: replace)
        request.maxParallel = maxParallel
        request.canary = canary
        request.force = force
        try rollout.run(request)
    }
}

/// `controlnode rollback RELEASE [--host H]...`.
struct Rollback: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll each host back to the version that ran before, by history (a rollout, as deploy is).")
    @Argument var release: String
    @OptionGroup var rollout: RolloutOptions

    func run() throws { try rollout.run(ControlRequest(command: "rollback", release: release)) }
}

/// `controlnode rollout status|promote|abort`.
struct RolloutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout", abstract: "Show, promote or abort a release's rollout.",
        subcommands: [StatusCommand.self, Promote.self, Abort.self])

    struct StatusCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "The rollouts in progress (or a release's last one), host by host.")
        @Argument(help: "Only this release.") var release: String?
        @Flag(help: "Print JSON for scripts.") var json = false
        @OptionGroup var options: SocketOptions

        func run() throws {
            let request = ControlRequest(command: "rollout-status", release: release)
            guard let rollouts = try options.list(request, json: json, \.rollouts) else { return }
            guard !rollouts.isEmpty else { return line("no rollout in progress or recorded") }
            for rollout in rollouts {
                let record = rollout.record
                let state = rollout.active ? "\(rollout.phase) (in progress)" : record.result
                line("rollout #\(record.id) of \(record.release) to \(record.version ?? "several versions"): \(state), "
                    + "\(record.kind) by \(record.requestedBy), started \(record.startedAt)")
                if let error = record.error { line("  \(error)") }
                printTable(["HOST", "FROM", "TO", "OUTCOME", "NOW"], record.hosts.map { host in
                    [host.host, host.from ?? "-", host.to ?? "-", host.outcome, host.live ?? host.error ?? ""]
                })
            }
        }
    }

    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accept the canaries: the other hosts follow.")
        @Argument var release: String
        @OptionGroup var options: SocketOptions
        func run() throws { try options.perform(ControlRequest(command: "rollout-promote", release: release)) }
    }

    struct Abort: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the rollout; every changed host goes back to its previous version.")
        @Argument var release: String
        @OptionGroup var options: SocketOptions
        func run() throws { try options.perform(ControlRequest(command: "rollout-abort", release: release)) }
    }
}

/// `controlnode history [RELEASE] [--limit N] [--json]`.
struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every operator request and rollout, newest first, with who asked and each host's outcome.")
    @Argument(help: "Only this release.") var release: String?
    @Option(help: "At most this many records.") var limit = 20
    @Flag(help: "Print JSON for scripts.") var json = false
    @OptionGroup var options: SocketOptions

    func run() throws {
        var request = ControlRequest(command: "history", release: release)
        request.limit = limit
        guard let records = try options.list(request, json: json, \.history) else { return }
        printTable(["ID", "RELEASE", "KIND", "VERSION", "BY", "STARTED", "ENDED", "RESULT", "HOSTS"], records.map { record in
            let hosts = record.hosts.map { "\($0.host):\($0.outcome)" }.joined(separator: " ")
            return ["#\(record.id)", record.release, record.kind, record.version ?? "-", record.requestedBy, record.startedAt,
                    record.endedAt ?? "-", record.result, hosts]
        })
        for record in records where record.error != nil { line("#\(record.id): \(record.error!)") }
    }
}
