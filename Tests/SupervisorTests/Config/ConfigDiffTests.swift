import Logging
import Testing

@testable import ReleaseSupervisor

@Suite("configuration reload: what changes per release and host")
struct ConfigDiffTests {
    private func pair(_ release: String, _ host: String) -> ReleaseHost { ReleaseHost(release: release, host: host) }

    private func base() throws -> ControlNodeConfig {
        var config = try ControlNodeConfig.parse(sampleConfiguration())
        config.hosts["web2"] = HostConfig(name: "web2", user: "deploy", authentication: .agent(socketPath: nil))
        config.hosts["db1"] = HostConfig(name: "db1", user: "deploy", authentication: .agent(socketPath: nil))
        config.releases["service_app"]?.hosts = ["web1", "web2"]
        config.releases["worker"] = ReleaseConfig(
            name: "worker", basePath: "/opt/worker", cookieFile: "/etc/controlnode/worker.cookie", hosts: ["db1"])
        return config
    }

    @Test("the same configuration changes nothing")
    func identical() throws {
        let diff = ConfigDiff(from: try base(), to: try base())
        #expect(diff.isEmpty)
        #expect(diff.unchanged == [pair("service_app", "web1"), pair("service_app", "web2"), pair("worker", "db1")])
    }

    @Test("added, removed, changed and unchanged pairs")
    func pairs() throws {
        let old = try base()
        var new = old
        new.releases["service_app"]?.hosts = ["web2", "db1"]  // web1 leaves, db1 joins
        new.releases["worker"]?.startTimeout = .seconds(90)  // every worker pair changes
        new.releases["batch"] = ReleaseConfig(
            name: "batch", basePath: "/opt/batch", cookieFile: "/etc/controlnode/batch.cookie", hosts: ["web1"])
        let diff = ConfigDiff(from: old, to: new)
        #expect(diff.added == [pair("batch", "web1"), pair("service_app", "db1")])
        #expect(diff.removed == [pair("service_app", "web1")])
        #expect(diff.changed == [pair("worker", "db1")])
        #expect(diff.unchanged == [pair("service_app", "web2")], "a new host in the list changes no other pair")
        #expect(diff.daemonKeys.isEmpty)
        #expect(diff.versionChanged.isEmpty)
    }

    @Test("a changed version or update table restarts no pair: the version becomes a rollout")
    func versionChange() throws {
        let old = try base()
        var new = old
        new.releases["worker"]?.version = "2.0.0"
        new.releases["service_app"]?.update.maxParallel = 2
        let diff = ConfigDiff(from: old, to: new)
        #expect(diff.versionChanged == ["worker"])
        #expect(diff.changed.isEmpty && diff.added.isEmpty && diff.removed.isEmpty)
        #expect(!diff.isEmpty)
    }

    @Test("a host's settings change every release on that host")
    func hostChange() throws {
        let old = try base()
        var new = old
        new.hosts["web2"]?.port = 2222
        let diff = ConfigDiff(from: old, to: new)
        #expect(diff.changed == [pair("service_app", "web2")])
        #expect(diff.unchanged == [pair("service_app", "web1"), pair("worker", "db1")])
    }

    @Test("daemon settings: connection settings change every pair, the log level none")
    func daemonChange() throws {
        let old = try base()
        var quiet = old
        quiet.daemon.logLevel = .warning
        let levelOnly = ConfigDiff(from: old, to: quiet)
        #expect(levelOnly.daemonKeys == ["log_level"] && levelOnly.changed.isEmpty && !levelOnly.isEmpty)

        var slower = old
        slower.daemon.tickTimeout = .seconds(60)
        let ticks = ConfigDiff(from: old, to: slower)
        #expect(ticks.daemonKeys == ["tick_timeout"])
        #expect(ticks.changed.count == 3 && ticks.unchanged.isEmpty)
    }
}
