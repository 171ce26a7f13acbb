import ArgumentParser

/// The `controlnode` command: deploys Erlang/Elixir releases over SSH and keeps them running.
@main
struct ControlNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controlnode",
        abstract: "Deploy Erlang/Elixir releases to hosts over SSH and keep them connected, monitored and running.",
        version: "controlnode \(version)",
        subcommands: [
            Run.self, Status.self, Deploy.self, Rollback.self, RolloutCommand.self, History.self, Start.self, Stop.self,
            Restart.self, Reload.self, TunnelCommand.self, Logs.self, Eval.self, RemoteCommand.self,
            CheckConfig.self, RegistryCommand.self, Probe.self,
            Events.self, ClusterCommand.self,
        ]
    )

    /// The version, as `--version`, `controlnode_build_info` and the Debian package give it.
    static let version = "0.1.0"
}
