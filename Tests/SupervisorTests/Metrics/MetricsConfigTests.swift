import ReleaseSupervisor
import Testing

@Suite("metrics settings and node figures")
struct MetricsConfigTests {
    @Test("metrics_listen takes an IPv4 or bracketed IPv6 address with a port, or a socket path", arguments: [
        ("127.0.0.1:9568", MetricsListen.tcp(address: "127.0.0.1", port: 9568)),
        ("0.0.0.0:1", .tcp(address: "0.0.0.0", port: 1)),
        ("[::1]:9568", .tcp(address: "::1", port: 9568)),
        ("/run/controlnode/metrics.sock", .unix(path: "/run/controlnode/metrics.sock")),
    ])
    func listenParses(text: String, expected: MetricsListen) throws {
        #expect(try MetricsListen.parse(text).get() == expected)
        #expect("\(expected)" == text)
    }

    @Test("metrics_listen refuses what it cannot bind without guessing", arguments: [
        "9568", "localhost:9568", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:", "::1:9568", "[::1]9568", "1.2.3:80",
        "relative/metrics.sock", "/" + String(repeating: "a", count: 120),
    ])
    func listenRefuses(text: String) {
        #expect(throws: MetricsListenProblem.self) { try MetricsListen.parse(text).get() }
    }

    @Test("a bad metrics_listen or node_metrics_interval is reported at its line, with what to write")
    func configErrors() throws {
        let bad = #expect(throws: ConfigError.self) {
            try ControlNodeConfig.parse("[daemon]\nmetrics_listen = \"localhost:9568\"\n", file: "/etc/c.toml")
        }
        #expect(bad.map { "\($0)" }?.contains("/etc/c.toml:2") == true, "\(String(describing: bad))")
        #expect(bad.map { "\($0)" }?.contains("not an IP address") == true)
        let short = #expect(throws: ConfigError.self) {
            try ControlNodeConfig.parse("[daemon]\nnode_metrics_interval = \"500ms\"\n", file: "/etc/c.toml")
        }
        #expect(short.map { "\($0)" }?.contains("shorter than 1s") == true, "\(String(describing: short))")
        let config = try ControlNodeConfig.parse("[daemon]\nmetrics_listen = \"127.0.0.1:9568\"\n")
        #expect(config.daemon.metricsListen == .tcp(address: "127.0.0.1", port: 9568))
        #expect(config.daemon.nodeMetricsInterval == .seconds(15))
        #expect(try ControlNodeConfig.parse("").daemon.metricsListen == nil)
    }
}
