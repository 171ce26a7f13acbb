import Testing

@testable import ReleaseSupervisor

/// A configuration text with one mistake, the line marked `# <-`, and the error it must produce.
struct InvalidConfig: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let code: ConfigError.Code
    let key: String?
    /// Words the message must contain (what is allowed, what to do).
    let mentions: [String]

    var testDescription: String { name }

    /// The 1-based line carrying the `# <-` marker.
    var markedLine: Int? {
        text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("# <-") }.map { $0 + 1 }
    }

    init(_ name: String, _ text: String, _ code: ConfigError.Code, key: String?, mentions: [String] = []) {
        self.name = name
        self.text = text
        self.code = code
        self.key = key
        self.mentions = mentions
    }

    static let hostLines = ["address = \"192.0.2.10\"", "user = \"deploy\"", "identity_file = \"/etc/controlnode/id\""]
    static let releaseLines = [
        "base_path = \"/opt/service_app\"", "cookie_file = \"/etc/controlnode/service_app.cookie\"",
        "hosts = [\"web1\"]",
    ]

    /// A valid file with `daemon`, `host` and `release` lines added to (or replacing) the usual ones.
    static func file(
        daemon: [String] = [], host: [String]? = nil, extraHost: [String] = [], release: [String]? = nil,
        extraRelease: [String] = [], hostHeader: String = "[hosts.web1]",
        releaseHeader: String = "[releases.service_app]"
    ) -> String {
        (["# controlnode test configuration", "[daemon]"] + daemon
            + ["", hostHeader] + (host ?? hostLines) + extraHost
            + ["", releaseHeader] + (release ?? releaseLines) + extraRelease).joined(separator: "\n") + "\n"
    }

    static let all: [InvalidConfig] = [
        .init("unclosed table header", "[daemon # <-\n", .syntax, key: nil, mentions: ["']'"]),
        .init("a key set twice", file(daemon: ["log_level = \"info\"", "log_level = \"debug\" # <-"]), .syntax,
              key: nil, mentions: ["set twice", "first on line 3"]),
        .init("a table defined twice", file(extraRelease: ["[hosts.web1] # <-"]), .syntax, key: nil,
              mentions: ["defined twice"]),
        .init("an unquoted word", file(extraRelease: ["mode = manage # <-"]), .syntax, key: nil,
              mentions: ["\"manage\""]),
        .init("a float", file(extraHost: ["port = 22.5 # <-"]), .syntax, key: nil, mentions: ["whole number"]),
        .init("an array of tables", file(extraRelease: ["[[releases.other]] # <-"]), .syntax, key: nil),
        .init("an unknown top-level table", file(extraRelease: ["[relases.other] # <-"]), .unknownKey,
              key: "relases", mentions: ["daemon, hosts, releases"]),
        .init("an unknown daemon key", file(daemon: ["nodename = \"x\" # <-"]), .unknownKey, key: "daemon.nodename",
              mentions: ["node_name"]),
        .init("an unknown host key", file(extraHost: ["prot = 22 # <-"]), .unknownKey, key: "hosts.web1.prot",
              mentions: ["port"]),
        .init("an unknown key in an inline table", file(extraRelease: ["restart = { max_restart = 5 } # <-"]),
              .unknownKey, key: "releases.service_app.restart.max_restart", mentions: ["max_restarts"]),
        .init("a host that is not a table", "[hosts]\nweb1 = \"192.0.2.10\" # <-\n", .wrongType, key: "hosts.web1",
              mentions: ["[hosts.web1]"]),
        .init("a missing user", file(host: ["identity_file = \"/etc/controlnode/id\""], hostHeader: "[hosts.web1] # <-"),
              .missingKey, key: "hosts.web1.user", mentions: ["user = \"deploy\""]),
        .init("neither key file nor agent", file(host: ["user = \"deploy\""], hostHeader: "[hosts.web1] # <-"),
              .missingKey, key: "hosts.web1.identity_file", mentions: ["agent = true"]),
        .init("both key file and agent", file(extraHost: ["agent = true # <-"]), .invalidValue, key: "hosts.web1.agent"),
        .init("a passphrase file with the agent", file(host: ["user = \"deploy\"", "agent = true", "passphrase_file = \"/etc/p\" # <-"]),
              .invalidValue, key: "hosts.web1.passphrase_file"),
        .init("a port as a string", file(extraHost: ["port = \"22\" # <-"]), .wrongType, key: "hosts.web1.port",
              mentions: ["whole number", "found a string"]),
        .init("a port out of range", file(extraHost: ["epmd_port = 70000 # <-"]), .invalidValue,
              key: "hosts.web1.epmd_port", mentions: ["1...65535"]),
        .init("an address with a space", file(host: ["address = \"web 1\" # <-", "user = \"u\"", "agent = true"]),
              .invalidValue, key: "hosts.web1.address"),
        .init("a password in the file", file(extraHost: ["password = \"hunter2\" # <-"]), .inlineSecret,
              key: "hosts.web1.password", mentions: ["identity_file"]),
        .init("an unknown host key policy", file(daemon: ["host_key_policy = \"sometimes\" # <-"]), .invalidValue,
              key: "daemon.host_key_policy", mentions: ["strict, accept-new, off"]),
        .init("a duration without a unit", file(daemon: ["keepalive_interval = \"5\" # <-"]), .invalidValue,
              key: "daemon.keepalive_interval", mentions: ["\"500ms\", \"5s\", \"5m\" or \"1h\""]),
        .init("a duration as a number", file(daemon: ["tick_timeout = 15 # <-"]), .wrongType,
              key: "daemon.tick_timeout", mentions: ["duration string"]),
        .init("a zero duration", file(extraRelease: ["start_timeout = \"0s\" # <-"]), .invalidValue,
              key: "releases.service_app.start_timeout"),
        .init("an unknown log level", file(daemon: ["log_level = \"verbose\" # <-"]), .invalidValue,
              key: "daemon.log_level", mentions: ["trace, debug, info"]),
        .init("a node name with a host part", file(daemon: ["node_name = \"cn@host\" # <-"]), .invalidValue,
              key: "daemon.node_name", mentions: ["host part"]),
        .init("a relative control socket", file(daemon: ["control_socket = \"control.sock\" # <-"]), .invalidValue,
              key: "daemon.control_socket", mentions: ["absolute path"]),
        .init("strict_permissions as a string", file(daemon: ["strict_permissions = \"yes\" # <-"]), .wrongType,
              key: "daemon.strict_permissions", mentions: ["true or false"]),
        .init("a release on an unknown host", file(release: [
            "base_path = \"/opt/a\"", "cookie_file = \"/etc/c\"", "hosts = [\"web1\", \"web2\"] # <-",
        ]), .unknownHost, key: "releases.service_app.hosts", mentions: ["web2", "[hosts.web2]", "defined hosts: web1"]),
        .init("a release on no hosts", file(release: ["base_path = \"/opt/a\"", "cookie_file = \"/etc/c\"", "hosts = [] # <-"]),
              .invalidValue, key: "releases.service_app.hosts"),
        .init("a host listed twice", file(release: [
            "base_path = \"/opt/a\"", "cookie_file = \"/etc/c\"", "hosts = [\"web1\", \"web1\"] # <-",
        ]), .invalidValue, key: "releases.service_app.hosts", mentions: ["twice"]),
        .init("hosts that are not strings", file(release: ["base_path = \"/opt/a\"", "cookie_file = \"/etc/c\"", "hosts = [1] # <-"]),
              .wrongType, key: "releases.service_app.hosts"),
        .init("a missing base path", file(release: ["cookie_file = \"/etc/c\"", "hosts = [\"web1\"]"],
              releaseHeader: "[releases.service_app] # <-"), .missingKey, key: "releases.service_app.base_path"),
        .init("a missing cookie file", file(release: ["base_path = \"/opt/a\"", "hosts = [\"web1\"]"],
              releaseHeader: "[releases.service_app] # <-"), .missingKey, key: "releases.service_app.cookie_file"),
        .init("the cookie in the file", file(extraRelease: ["cookie = \"SECRET\" # <-"]), .inlineSecret,
              key: "releases.service_app.cookie", mentions: ["cookie_file"]),
        .init("a bad release name", file(releaseHeader: "[releases.\"service app\"] # <-"), .invalidValue,
              key: "releases.service app", mentions: ["[a-z][a-z0-9_]*"]),
        .init("an empty version", file(extraRelease: ["version = \"\" # <-"]), .invalidValue,
              key: "releases.service_app.version"),
        .init("an unknown mode", file(extraRelease: ["mode = \"mange\" # <-"]), .invalidValue,
              key: "releases.service_app.mode", mentions: ["manage, observe, connect"]),
        .init("an environment value that is a number", file(extraRelease: ["env = { PORT = 4000 } # <-"]), .wrongType,
              key: "releases.service_app.env.PORT", mentions: ["PORT = \"...\""]),
        .init("a bad environment name", file(extraRelease: ["env = { \"1PORT\" = \"4000\" } # <-"]), .invalidValue,
              key: "releases.service_app.env.1PORT"),
        .init("env that is not a table", file(extraRelease: ["env = \"PORT=4000\" # <-"]), .wrongType,
              key: "releases.service_app.env"),
        .init("negative max_restarts", file(extraRelease: ["restart = { max_restarts = -1, within = \"5m\" } # <-"]),
              .invalidValue, key: "releases.service_app.restart.max_restarts", mentions: ["0...1000"]),
        .init("a health check without a function", file(extraRelease: ["health_check = { module = \"M\" } # <-"]),
              .missingKey, key: "releases.service_app.health_check.function"),
        .init("a health check timeout longer than its interval",
              file(extraRelease: ["health_check = { module = \"M\", function = \"f\", interval = \"1s\", timeout = \"2s\" } # <-"]),
              .invalidValue, key: "releases.service_app.health_check.timeout"),
        .init("an unknown health check action",
              file(extraRelease: ["health_check = { module = \"M\", function = \"f\", on_failure = \"explode\" } # <-"]),
              .invalidValue, key: "releases.service_app.health_check.on_failure", mentions: ["restart, none"]),
        .init("a nested health check argument",
              file(extraRelease: ["health_check = { module = \"M\", function = \"f\", args = [[1]] } # <-"]),
              .wrongType, key: "releases.service_app.health_check.args"),
        .init("health_check as a string", file(extraRelease: ["health_check = \"M.f\" # <-"]), .wrongType,
              key: "releases.service_app.health_check"),
        // One rule per setting, here: what the release layer used to check again (and never did).
        .init("a release name mix would not make", file(releaseHeader: "[releases.Service-App] # <-"), .invalidValue,
              key: "releases.Service-App", mentions: ["[a-z][a-z0-9_]*"]),
        .init("a base path that climbs", file(release: ["base_path = \"/opt/../etc\" # <-"] + InvalidConfig.releaseLines.dropFirst()),
              .invalidValue, key: "releases.service_app.base_path", mentions: [".."]),
        .init("a path with a control character", file(daemon: ["registry = \"/var/lib/x\\ny\" # <-"]), .invalidValue,
              key: "daemon.registry", mentions: ["control character"]),
        .init("the cookie in env", file(extraRelease: ["env = { RELEASE_COOKIE = \"x\" } # <-"]), .invalidValue,
              key: "releases.service_app.env.RELEASE_COOKIE", mentions: ["cookie_file"]),
        .init("LD_PRELOAD in env", file(extraRelease: ["env = { LD_PRELOAD = \"/tmp/x.so\" } # <-"]), .invalidValue,
              key: "releases.service_app.env.LD_PRELOAD", mentions: ["loader"]),
        .init("PATH in env", file(extraRelease: ["env = { PATH = \"/tmp\" } # <-"]), .invalidValue,
              key: "releases.service_app.env.PATH"),
        .init("HOME in env", file(extraRelease: ["env = { HOME = \"/tmp\" } # <-"]), .invalidValue,
              key: "releases.service_app.env.HOME", mentions: ["base_path"]),
        .init("a non-ASCII environment name", file(extraRelease: ["env = { \"PÖRT\" = \"1\" } # <-"]), .invalidValue,
              key: "releases.service_app.env.PÖRT"),
        .init("a keepalive interval of hours", file(daemon: ["keepalive_interval = \"11m\" # <-"]), .invalidValue,
              key: "daemon.keepalive_interval", mentions: ["at most 10m"]),
        .init("a start timeout of a day", file(extraRelease: ["start_timeout = \"24h\" # <-"]), .invalidValue,
              key: "releases.service_app.start_timeout", mentions: ["1h"]),
    ]
}

@Suite("configuration validation: every error names the file, the line and the key")
struct ConfigValidationTests {
    @Test("a mistake is reported where it is", arguments: InvalidConfig.all)
    func reportsWhere(_ invalid: InvalidConfig) throws {
        let line = try #require(invalid.markedLine, "the case has no '# <-' marker")
        let error = try #require(throws: ConfigError.self) {
            try ControlNodeConfig.parse(invalid.text, file: "/etc/controlnode/test.toml")
        }
        #expect(error.code == invalid.code, "\(error)")
        #expect(error.line == line, "\(error)")
        #expect(error.key == invalid.key, "\(error)")
        let prefix = "/etc/controlnode/test.toml:\(line): " + (invalid.key.map { "\($0): " } ?? "")
        #expect(error.description.hasPrefix(prefix), "\(error)")
        for word in invalid.mentions { #expect(error.description.contains(word), "\(error) should mention \(word)") }
    }

    @Test("the valid base of those cases parses")
    func baseIsValid() throws {
        let config = try ControlNodeConfig.parse(InvalidConfig.file())
        #expect(config.releases["service_app"]?.hosts == ["web1"])
    }
}
