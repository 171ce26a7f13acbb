import Foundation
import Logging
import Testing

@testable import ReleaseSupervisor

/// The configuration from the issue, with its secret files under `directory`.
func sampleConfiguration(directory: String = "/etc/controlnode") -> String {
    """
    [daemon]
    node_name = "controlnode"                    # hidden node name; the host part is added
    control_socket = "/run/controlnode/control.sock"
    registry = "/var/lib/controlnode/registry"
    known_hosts = "/etc/controlnode/known_hosts"
    host_key_policy = "strict"                   # strict | accept-new | off
    keepalive_interval = "5s"                    # SSH keepalive; dead after 3 unanswered
    tick_timeout = "15s"                         # distribution silence → node down
    log_level = "info"

    [hosts.web1]
    address = "192.0.2.10"                      # or a DNS name
    port = 22
    user = "deploy"
    identity_file = "\(directory)/id_ed25519"   # or: agent = true
    epmd_port = 4369

    [releases.service_app]
    base_path = "/opt/service_app"
    cookie_file = "\(directory)/service_app.cookie"
    hosts = ["web1"]
    version = "0.1.0"                            # desired version (optional)
    mode = "manage"                              # manage | observe | connect
    start_timeout = "30s"
    env = { PORT = "4000" }
    restart = { max_restarts = 5, within = "5m" }
    health_check = { module = "Elixir.ServiceApp.Health", function = "check", args = [], interval = "5s", timeout = "2s", failures = 3, on_failure = "restart" }
    """
}

@Suite("configuration: loading, defaults, round trip and secret files")
struct ConfigLoadTests {
    @Test("the sample file parses into the expected values")
    func sample() throws {
        let config = try ControlNodeConfig.parse(sampleConfiguration())
        var daemon = DaemonConfig()
        daemon.logLevel = .info
        #expect(config.daemon == daemon)
        #expect(
            config.hosts["web1"]
                == HostConfig(
                    name: "web1", address: "192.0.2.10", user: "deploy",
                    authentication: .keyFile(path: "/etc/controlnode/id_ed25519")))
        var release = ReleaseConfig(
            name: "service_app", basePath: "/opt/service_app", cookieFile: "/etc/controlnode/service_app.cookie",
            hosts: ["web1"])
        release.version = "0.1.0"
        release.environment = ["PORT": "4000"]
        release.healthCheck = HealthCheckConfig(module: "Elixir.ServiceApp.Health", function: "check")
        #expect(config.releases["service_app"] == release)
    }

    @Test("everything optional has a default")
    func defaults() throws {
        let config = try ControlNodeConfig.parse(
            """
            [hosts.db1]
            user = "deploy"
            agent = true

            [releases.worker]
            base_path = "/opt/worker"
            cookie_file = "/etc/controlnode/worker.cookie"
            hosts = ["db1"]
            health_check = { module = "Elixir.Worker.Health", function = "alive?" }
            """)
        #expect(config.daemon == DaemonConfig())
        #expect(config.daemon.keepaliveInterval == .seconds(5) && config.daemon.tickTimeout == .seconds(15))
        let host = try #require(config.hosts["db1"])
        #expect(host.address == "db1" && host.port == 22 && host.epmdPort == 4369)
        #expect(host.authentication == .agent(socketPath: nil))
        let release = try #require(config.releases["worker"])
        #expect(release.mode == .manage && release.startTimeout == .seconds(30) && release.version == nil)
        #expect(release.restart == RestartPolicy(maxRestarts: 5, window: .seconds(300)))
        #expect(release.environment.isEmpty)
        let check = try #require(release.healthCheck)
        #expect(check.interval == .seconds(5) && check.timeout == .seconds(2) && check.failures == 3)
        #expect(check.onFailure == .restart && check.arguments.isEmpty)
        #expect(try ControlNodeConfig.parse("") == ControlNodeConfig())
    }

    @Test("hosts read pinned keys from known_hosts and learn keys into the state directory")
    func knownHostsFiles() throws {
        let config = try ControlNodeConfig.parse(
            """
            [daemon]
            state_dir = "/srv/controlnode/"
            known_hosts = "/etc/controlnode/pins"
            host_key_policy = "accept-new"

            [hosts.db1]
            user = "deploy"
            agent = true
            """)
        let settings = config.hostSpec(try #require(config.hosts["db1"])).sshSettings
        #expect(settings.knownHostsPath == "/etc/controlnode/pins")
        #expect(settings.learnedKnownHostsPath == "/srv/controlnode/known_hosts")
        #expect(settings.hostKeyPolicy == .acceptNew)
        #expect(DaemonConfig().learnedKnownHostsPath == "/var/lib/controlnode/known_hosts")
    }

    @Test("a configuration written out as TOML parses back to the same value")
    func roundTrip() throws {
        var config = try ControlNodeConfig.parse(sampleConfiguration())
        config.daemon.hostKeyPolicy = .acceptNew
        config.daemon.keepaliveInterval = .milliseconds(1500)
        config.daemon.logLevel = .debug
        config.daemon.metricsListen = .tcp(address: "::1", port: 9568)
        config.daemon.nodeMetricsInterval = .seconds(30)
        config.hosts["web 2"] = HostConfig(
            name: "web 2", address: "web2.example", port: 2222, user: "ops",
            authentication: .keyFile(path: "/etc/controlnode/id_web2", passphraseFile: "/etc/controlnode/id_web2.pass"),
            epmdPort: 4370)
        config.hosts["db1"] = HostConfig(name: "db1", user: "deploy", authentication: .agent(socketPath: nil))
        var worker = ReleaseConfig(
            name: "worker", basePath: "/opt/worker \"blue\"", cookieFile: "/etc/controlnode/worker.cookie",
            hosts: ["db1", "web 2"])
        worker.mode = .observe
        worker.startTimeout = .seconds(2700)
        worker.environment = ["GREETING": "tab\there\nnewline\\", "EMPTY": ""]
        worker.restart = RestartPolicy(maxRestarts: 0, window: .milliseconds(250))
        var check = HealthCheckConfig(module: "Elixir.Worker", function: "ok?")
        check.arguments = [.string("é\u{1}"), .integer(-3), .boolean(false)]
        check.onFailure = .none
        check.failures = 10
        worker.healthCheck = check
        config.releases["worker"] = worker
        let text = config.tomlText
        #expect(try ControlNodeConfig.parse(text) == config, "\(text)")
    }

    @Test("durations: ms, s, m and h; nothing else", arguments: [
        ("500ms", Duration.milliseconds(500)), ("5s", .seconds(5)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
        ("0ms", .zero),
    ])
    func durations(text: String, duration: Duration) {
        #expect(ConfigDuration.parse(text) == duration)
        #expect(ConfigDuration.parse(ConfigDuration.render(duration)) == duration)
    }

    @Test("malformed durations", arguments: ["5", "s", "5 s", "-5s", "1.5s", "5d", "5sec", "٥s", ""])
    func badDurations(text: String) {
        #expect(ConfigDuration.parse(text) == nil)
    }

    @Test("secret files: one rule for check-config and the daemon, group-readable refused, the cookie's text checked")
    func permissions() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-config")
        defer { directory.remove() }
        try directory.write("id_ed25519", "key", mode: 0o600)
        // A quote is a cookie character Erlang accepts; it used to pass check-config and fail the first deploy.
        try directory.write("service_app.cookie", "CO'OKIE", mode: 0o640)
        let text = sampleConfiguration(directory: directory.path)
        try directory.write("controlnode.toml", text, mode: 0o644)
        let cookieLine = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("cookie_file") }) + 1

        let error = try #require(throws: ConfigError.self) { try ControlNodeConfig.load(path: directory.file("controlnode.toml")) }
        #expect(error.code == .insecurePermissions && error.line == cookieLine)
        #expect(error.description.hasPrefix("\(directory.file("controlnode.toml")):\(cookieLine): releases.service_app.cookie_file: "))
        #expect(error.description.contains("mode 640") && error.description.contains("chmod 600"))
        // The daemon's own reading says the same.
        #expect(throws: ConfigurationError.self) {
            try Cookie(contentsOfFile: directory.file("service_app.cookie"), for: "release service_app")
        }

        try directory.write("service_app.cookie", "CO'OKIE", mode: 0o600)
        let loaded = try ControlNodeConfig.load(path: directory.file("controlnode.toml"))
        #expect(loaded.config == (try ControlNodeConfig.parse(text)))
        #expect(loaded.warnings.isEmpty)
        #expect(try loaded.config.supervised().count == 1)

        // A cookie file without a usable cookie fails check-config too, at the cookie_file line.
        try directory.write("service_app.cookie", "two words\n", mode: 0o600)
        let unusable = try #require(throws: ConfigError.self) { try ControlNodeConfig.load(path: directory.file("controlnode.toml")) }
        #expect(unusable.code == .secretFileUnusable && unusable.line == cookieLine, "\(unusable)")

        // An identity file the group can read is refused, as ssh refuses it.
        try directory.write("service_app.cookie", "COOKIE", mode: 0o600)
        try directory.write("id_ed25519", "key", mode: 0o640)
        let key = try #require(throws: ConfigError.self) { try ControlNodeConfig.load(path: directory.file("controlnode.toml")) }
        #expect(key.code == .insecurePermissions && key.key?.hasSuffix("identity_file") == true, "\(key)")
        try directory.write("id_ed25519", "key", mode: 0o600)

        // strict_permissions no longer relaxes anything, and says so; a root SSH user is worth a warning.
        let relaxed = text.replacingOccurrences(of: "[daemon]", with: "[daemon]\nstrict_permissions = false")
            .replacingOccurrences(of: "user = \"deploy\"", with: "user = \"root\"")
        try directory.write("controlnode.toml", relaxed)
        let warnings = try ControlNodeConfig.load(path: directory.file("controlnode.toml")).warnings
        #expect(warnings.contains { $0.key == "daemon.strict_permissions" && $0.message.contains("always refused") })
        #expect(warnings.contains { $0.key.hasSuffix(".user") && $0.message.contains("dedicated user") }, "\(warnings)")
    }

    @Test("a missing key file or configuration file is an error that says which")
    func missingFiles() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-config")
        defer { directory.remove() }
        try directory.write("service_app.cookie", "COOKIE")
        let text = sampleConfiguration(directory: directory.path)
        try directory.write("controlnode.toml", text)
        let error = try #require(throws: ConfigError.self) { try ControlNodeConfig.load(path: directory.file("controlnode.toml")) }
        #expect(error.code == .secretFileUnusable && error.key == "hosts.web1.identity_file" && error.line == 15)
        #expect(error.description.contains("No such file"))

        let missing = try #require(throws: ConfigError.self) { try ControlNodeConfig.load(path: directory.file("nothing.toml")) }
        #expect(missing.code == .unreadable && missing.line == nil)
        #expect(missing.description.hasPrefix(directory.file("nothing.toml")))
    }
}
