import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("Release and host specifications")
struct SpecTests {
    @Test("a cookie file is read (first line, trimmed) only when group and others cannot read it")
    func cookieFile() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try scratch.write("cookie", "  s3cret_Cookie  \nsecond line\n", mode: 0o600)
        let cookie = try Cookie(contentsOfFile: scratch.file("cookie"), for: "release shop")
        #expect(cookie.digest(challenge: 7) == Cookie("s3cret_Cookie").digest(challenge: 7))
        #expect("\(cookie)" == "Cookie(redacted)")

        try scratch.write("open", "s3cret\n", mode: 0o640)
        let open = try #require(throws: ConfigurationError.self) {
            try Cookie(contentsOfFile: scratch.file("open"), for: "release shop")
        }
        #expect(open.description.contains("chmod 600") && open.description.contains(scratch.file("open")))
        #expect(!open.description.contains("s3cret"))

        try scratch.write("empty", "\n", mode: 0o600)
        let empty = try #require(throws: ConfigurationError.self) {
            try Cookie(contentsOfFile: scratch.file("empty"), for: "release shop")
        }
        #expect(empty.description.contains("release shop") && empty.description.contains("first line"))
        let missing = try #require(throws: ConfigurationError.self) {
            try Cookie(contentsOfFile: scratch.file("missing"), for: "release shop")
        }
        #expect(missing.underlyingError is SystemCallError)
    }

    @Test("a release spec starts with the defaults the configuration documents")
    func releaseDefaults() {
        let spec = ReleaseSpec(name: "shop", basePath: "/srv/shop", cookie: Cookie("c"))
        #expect(spec.restartPolicy == RestartPolicy(maxRestarts: 5, window: .seconds(300)))
        #expect(spec.controlMode == .manage && spec.healthCheck == nil)
    }

    @Test("a host spec makes the SSH layer's settings")
    func hostSettings() throws {
        let host = HostSpec(
            name: "web1", address: "10.0.0.5", sshPort: 2222, user: "deploy",
            authentication: .keyFile(path: "/etc/controlnode/id_ed25519"),
            knownHostsPath: "/etc/controlnode/known_hosts",
            hostKeyPolicy: .acceptNew)
        #expect(host.epmdPort == 4369)
        let settings = host.sshSettings
        #expect(settings.endpoint == "deploy@10.0.0.5:2222")
        #expect(settings.authentication == .keyFile(path: "/etc/controlnode/id_ed25519"))
        #expect(settings.knownHostsPath == "/etc/controlnode/known_hosts")
        #expect(settings.hostKeyPolicy == .acceptNew)
    }

    @Test("health results: ok, true and {ok, _} are healthy; the rest is not")
    func healthResults() {
        #expect(HealthCheck.isHealthy(.atom(.ok)))
        #expect(HealthCheck.isHealthy(.atom(.true)))
        #expect(HealthCheck.isHealthy(.tuple("ok", 3)))
        #expect(!HealthCheck.isHealthy(.tuple("error", "unhealthy")))
        #expect(!HealthCheck.isHealthy(.atom(.false)))
        #expect(!HealthCheck.isHealthy(.tuple("ok", 1, 2)))
    }

    @Test("release state starts not running and prints statuses as the CLI shows them")
    func state() {
        var state = ReleaseState(release: "shop", host: "web1")
        #expect(state.status == .notRunning && state.restartCount == 0 && state.nodeName == nil)
        state.status = .failed(reason: "start timed out")
        #expect(
            ["\(ReleaseState.Status.notRunning)", "\(ReleaseState.Status.starting)", "\(state.status)"]
                == ["not_running", "starting", "failed"])
        #expect(WallClockTime(nanosecondsSinceEpoch: 1_700_000_000_500_000_000).description == "2023-11-14T22:13:20Z")
        #expect(WallClockTime.now() > WallClockTime(nanosecondsSinceEpoch: 1_700_000_000_000_000_000))
    }
}
