import Testing

@testable import ReleaseSupervisor

@Suite("[cluster] configuration")
struct ClusterConfigTests {
    private static func config(_ lines: [String]) throws(ConfigError) -> ControlNodeConfig {
        try ControlNodeConfig.parse((["[cluster]"] + lines).joined(separator: "\n") + "\n", file: "/etc/c.toml")
    }

    @Test("no [cluster] table: the daemon works alone")
    func absent() throws {
        #expect(try ControlNodeConfig.parse("[daemon]\n").cluster == nil)
    }

    @Test("every key, read and written back")
    func everyKey() throws {
        let config = try Self.config([
            "etcd_endpoints = [\"https://10.0.0.5:2379\", \"https://[fd00::5]:2379\", \"https://etcd3:2379/\"]",
            "member_name = \"ctl-a\"", "lease_ttl = \"15s\"", "mode = \"sharded\"", "key_prefix = \"/cn/eu/\"",
            "ca_file = \"/etc/controlnode/ca.pem\"", "cert_file = \"/etc/controlnode/c.pem\"",
            "key_file = \"/etc/controlnode/c.key\"", "user = \"controlnode\"", "password_file = \"/etc/controlnode/pw\"",
        ])
        let cluster = try #require(config.cluster)
        #expect(cluster.endpoints.map(\.description) == ["https://10.0.0.5:2379", "https://[fd00::5]:2379", "https://etcd3:2379"])
        #expect(cluster.endpoints[1].host == "fd00::5")
        #expect(cluster.memberName == "ctl-a")
        #expect(cluster.leaseTTL == .seconds(15))
        #expect(cluster.mode == .sharded)
        #expect(cluster.keyPrefix == "/cn/eu/")
        #expect(cluster.keyFile == "/etc/controlnode/c.key" && cluster.passwordFile == "/etc/controlnode/pw")
        #expect(try ControlNodeConfig.parse(config.tomlText) == config, "\(config.tomlText)")
    }

    @Test("defaults: the host name, 10s, active-standby, /controlnode/")
    func defaults() throws {
        let cluster = try #require(try Self.config(["etcd_endpoints = [\"http://127.0.0.1:2379\"]"]).cluster)
        #expect(cluster.memberName == ClusterConfig.defaultMemberName())
        #expect(TableReader.isPlainName(cluster.memberName))
        #expect(cluster.leaseTTL == .seconds(10))
        #expect(cluster.mode == .activeStandby)
        #expect(cluster.keyPrefix == "/controlnode/")
    }

    @Test("mistakes are named with their key and line", arguments: [
        (["member_name = \"a\""], "cluster.etcd_endpoints", "add etcd_endpoints"),
        (["etcd_endpoints = []"], "cluster.etcd_endpoints", "names no endpoint"),
        (["etcd_endpoints = [\"10.0.0.5:2379\"]"], "cluster.etcd_endpoints", "http:// or https://"),
        (["etcd_endpoints = [\"http://10.0.0.5\"]"], "cluster.etcd_endpoints", "has no port"),
        (["etcd_endpoints = [\"http://10.0.0.5:99999\"]"], "cluster.etcd_endpoints", "no valid port"),
        (["etcd_endpoints = [\"http://u@h:1\"]"], "cluster.etcd_endpoints", "no valid host"),
        (["etcd_endpoints = [\"http://a:1\", \"https://b:1\"]"], "cluster.etcd_endpoints", "mixes"),
        (["etcd_endpoints = [\"http://a:1\"]", "member_name = \"ctl a\""], "cluster.member_name", "not a valid member name"),
        (["etcd_endpoints = [\"http://a:1\"]", "lease_ttl = \"1s\""], "cluster.lease_ttl", "shorter than 3s"),
        (["etcd_endpoints = [\"http://a:1\"]", "lease_ttl = \"10m\""], "cluster.lease_ttl", "longer than 5m"),
        (["etcd_endpoints = [\"http://a:1\"]", "mode = \"primary\""], "cluster.mode", "active-standby, sharded"),
        (["etcd_endpoints = [\"http://a:1\"]", "key_prefix = \"controlnode\""], "cluster.key_prefix", "start and end with '/'"),
        (["etcd_endpoints = [\"http://a:1\"]", "cert_file = \"/c.pem\""], "cluster.cert_file", "add key_file"),
        (["etcd_endpoints = [\"http://a:1\"]", "ca_file = \"/ca.pem\""], "cluster.ca_file", "https://"),
        (["etcd_endpoints = [\"http://a:1\"]", "user = \"u\""], "cluster.user", "add password_file"),
        (["etcd_endpoints = [\"http://a:1\"]", "password = \"hunter2\""], "cluster.password", "password_file"),
        (["etcd_endpoints = [\"http://a:1\"]", "ttl = \"10s\""], "cluster.ttl", "lease_ttl"),
    ])
    func mistakes(lines: [String], key: String, mention: String) throws {
        let error = #expect(throws: ConfigError.self) { try Self.config(lines) }
        #expect(error?.key == key)
        #expect(error?.line != nil && error?.file == "/etc/c.toml")
        #expect(error?.description.contains(mention) == true, "\(error.map { "\($0)" } ?? "")")
    }
}
