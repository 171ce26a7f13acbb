import Foundation
import Logging
import Testing

@testable import ReleaseSupervisor

@Suite("Release operations against a real sshd and a mix-built release", .serialized)
struct RemoteReleaseTests {
    @Test("deploy, initialize_state, tunnel, terminate_state, deploy over a running release, terminate")
    func lifecycle() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let remote = try await fixture.remote()

        let absent = try await remote.initializeState()
        #expect(absent.state.status == .notRunning)
        #expect(absent.link == nil)
        await #expect { _ = try await remote.setupTunnel() } throws: { ($0 as? ReleaseError)?.code == .releaseNotRunning }

        let deployed = try await remote.deploy(try fixture.entry("0.1.0"))
        #expect(deployed.version == ReleaseVersion("0.1.0"))
        #expect(FileManager.default.fileExists(atPath: "\(fixture.basePath)/0.1.0/bin/service_app"))
        // Nothing half-done or secret left beside it.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.basePath).filter { $0.hasPrefix(".") && $0 != ".erlang.cookie" }
        #expect(leftovers.isEmpty)
        let environmentFiles = try FileManager.default.contentsOfDirectory(atPath: "\(fixture.basePath)/0.1.0")
            .filter { $0.hasPrefix(".start-env") }
        #expect(environmentFiles.isEmpty)

        let (state, maybeLink) = try await remote.initializeState(tunnel: true)
        let link = try #require(maybeLink)
        #expect(state.status == .running)
        #expect(state.version == ReleaseVersion("0.1.0"))
        #expect(state.nodeName?.alive == "service_app")
        let pid = try #require(state.osPid)
        #expect(kill(pid, 0) == 0)
        #expect(state.releasePath?.hasSuffix("/0.1.0") == true)
        // No command line carries the cookie, the VM's included (CookieExposureTests samples them all along).
        let processes = fixture.releaseProcesses()
        #expect(processes.contains(pid))
        for process in processes {
            let commandLine = String(decoding: FileManager.default.contents(atPath: "/proc/\(process)/cmdline") ?? Data(), as: UTF8.self)
            #expect(!commandLine.contains(fixture.cookie), "cookie in \(commandLine)")
        }

        // The tunnel speaks Erlang distribution.
        let tunnelPort = try #require(state.localTunnelPort)
        let stream = try await TCPStream.connect(host: "127.0.0.1", port: tunnelPort)
        let node = try await DistributionConnection.withConnection(
            over: stream, to: state.nodeName!, configuration: DistributionConfiguration(cookie: Cookie(fixture.cookie))
        ) { try await $0.rpc("erlang", "node") }
        #expect(node == .atom(state.nodeName!.atom))

        await #expect {
            _ = try await remote.deploy(try fixture.entry("0.2.0"))
        } throws: { ($0 as? ReleaseError)?.code == .alreadyRunning }

        await remote.terminateState(link)
        #expect(try await remote.registration() != nil)
        #expect(kill(pid, 0) == 0)

        try await remote.terminate(state)
        #expect(try await remote.registration() == nil)
        #expect(kill(pid, 0) != 0)
    }

    @Test("a deploy that cannot store its tarball, or whose tarball arrives different, says why and leaves nothing")
    func deployFailures() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let entry = try fixture.entry("0.1.0")

        // A base path below a regular file cannot be created: the host's own reason comes back, at once.
        let blocker = fixture.basePath + "-file"
        try FileManager.default.createDirectory(
            atPath: (blocker as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
        let blocked = try await fixture.remote(fixture.release(basePath: blocker + "/service_app"))
        let clock = ContinuousClock()
        let started = clock.now
        await #expect {
            _ = try await blocked.deploy(entry)
        } throws: { error in
            guard let error = error as? ReleaseError else { return false }
            return error.code == .hostCommandFailed && error.detail.contains("Not a directory")
                && error.detail.contains("\(blocker)/service_app")
        }
        #expect(clock.now - started < .seconds(10))

        // A tarball that is not what the registry recorded is refused by its checksum on the host.
        let remote = try await fixture.remote()
        let forged = RegistryEntry(release: entry.release, path: entry.path, sha256: String(repeating: "0", count: 64), size: entry.size)
        await #expect {
            _ = try await remote.deploy(forged)
        } throws: { error in
            guard let error = error as? ReleaseError else { return false }
            return error.code == .hostCommandFailed && error.detail.contains("arrived corrupted")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: fixture.basePath)
        #expect(left.isEmpty, "left on the host: \(left)")
        #expect(try await remote.registration() == nil)

        // The empty base path the failure left is no obstacle: no versions installed, and the next deploy works.
        #expect(try await remote.installedVersions() == [])
        _ = try await remote.deploy(entry)
        #expect(try await remote.installedVersions() == [ReleaseVersion("0.1.0")!])
    }

    @Test(
        "disk full during the upload: the host's reason, nothing left under the base path",
        .enabled(if: geteuid() == 0, "needs root to mount a small tmpfs as the base path"))
    func diskFull() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let small = fixture.basePath + "-small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let (mounted, output) = try runCommand("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small])
        try #require(mounted == 0, "\(output)")
        defer { _ = try? runCommand("/bin/umount", ["-l", small]) }
        let remote = try await fixture.remote(fixture.release(basePath: small + "/service_app"))
        await #expect {
            _ = try await remote.deploy(try fixture.entry("0.1.0"))
        } throws: { error in
            guard let error = error as? ReleaseError else { return false }
            return error.code == .hostCommandFailed && error.detail.contains("No space left on device")
                && error.detail.contains("has room")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: small + "/service_app")
        #expect(left.isEmpty, "left on the host: \(left)")
        #expect(try await remote.registration() == nil)
    }

    @Test("a host with no EPMD listening (no node has run there yet) has the release not running, not unreachable")
    func hostWithoutEPMD() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        var host = fixture.host
        host.epmdPort = try freeLoopbackPort()
        let remote = RemoteRelease(
            release: fixture.release(), host: host, ssh: try await fixture.server.connect(), logger: Logger(label: "test"))
        #expect(try await remote.registration() == nil)
        #expect(try await remote.initializeState().state.status == .notRunning)
    }

    @Test("a release that crashes at boot: start timeout with the tail of its log")
    func crashAtBoot() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let remote = try await fixture.remote(
            fixture.release(environment: ["SERVICE_APP_CRASH_AT_BOOT": "1"], startTimeout: .seconds(8)))
        await #expect {
            _ = try await remote.deploy(try fixture.entry("0.1.0"))
        } throws: { error in
            guard let error = error as? ReleaseError else { return false }
            return error.code == .startTimedOut && error.detail.contains("SERVICE_APP_CRASH_AT_BOOT")
        }
    }

    @Test("deploy 0.2.0 over 0.1.0 with replace, then roll back to 0.1.0")
    func replaceAndRollback() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let remote = try await fixture.remote()
        _ = try await remote.deploy(try fixture.entry("0.1.0"))
        _ = try await remote.deploy(try fixture.entry("0.2.0"), replace: true)
        let (upgraded, link) = try await remote.initializeState()
        #expect(upgraded.version == ReleaseVersion("0.2.0"))
        #expect(try await remote.installedVersions() == [ReleaseVersion("0.1.0")!, ReleaseVersion("0.2.0")!])
        _ = try await remote.rollback(stopping: link)
        let (rolledBack, newLink) = try await remote.initializeState()
        #expect(rolledBack.version == ReleaseVersion("0.1.0"))
        #expect(try await remote.currentVersion() == ReleaseVersion("0.1.0"))
        if let newLink { await remote.terminateState(newLink) }
    }
}

@Suite("The cookie stays off every command line on the host", .serialized)
struct CookieExposureTests {
    @Test("sampling every process's command line every 10 ms through deploy, restart, rollback and stop never finds the cookie")
    func cookieNeverOnACommandLine() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let sampler = CommandLineSampler(needle: fixture.cookie)
        defer { sampler.stop() }

        // The sampler sees a short-lived process that does carry the needle: it works.
        _ = try runCommand("/bin/sh", ["-c", "sleep 0.2", "canary", fixture.cookie])
        #expect(sampler.sightings.contains { $0.commandLine.contains("canary") })
        sampler.forget()

        let remote = try await fixture.remote()
        let first = try await remote.deploy(try fixture.entry("0.1.0"))
        try await remote.stop()
        try await remote.waitUntilUnregistered(timeout: .seconds(30))
        _ = try await remote.restart(version: first.version)
        _ = try await remote.deploy(try fixture.entry("0.2.0"), replace: true)
        let (running, link) = try await remote.initializeState()
        #expect(running.version == ReleaseVersion("0.2.0"))
        let rolledBack = try await remote.rollback(stopping: link)
        #expect(rolledBack.version == ReleaseVersion("0.1.0"))
        let (state, _) = try await remote.initializeState()
        let pid = try #require(state.osPid)

        #expect(sampler.sightings.isEmpty, "the cookie was on a command line: \(sampler.sightings)")

        // A sysadmin on the host still reaches the node with the release's own scripts, cookie from releases/COOKIE.
        // (Elixir's `rpc` and `remote` put it on their own command lines: the sysadmin's choice, left out below.)
        let current = "\(fixture.basePath)/current"
        let rpc = try runCommand(
            "\(current)/bin/service_app", ["rpc", "IO.puts(:reached)"],
            environment: ["PATH": "/usr/bin:/bin", "HOME": "/root", "ERL_EPMD_PORT": String(fixture.epmdPort)])
        #expect(rpc.status == 0 && rpc.output.contains("reached"), "\(rpc.output)")
        sampler.forget()

        // The node found its cookie in a file only the SSH user can read, in a release directory closed to others.
        let cookieFile = "\(fixture.basePath)/.erlang.cookie"
        let attributes = try FileManager.default.attributesOfItem(atPath: cookieFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o400)
        #expect(try String(contentsOfFile: cookieFile, encoding: .utf8) == fixture.cookie)
        let releaseCookie = try FileManager.default.attributesOfItem(atPath: "\(current)/releases/COOKIE")
        #expect((releaseCookie[.posixPermissions] as? Int) == 0o400)
        let directory = try FileManager.default.attributesOfItem(atPath: "\(fixture.basePath)/0.1.0")
        #expect((directory[.posixPermissions] as? Int) == 0o750)
        let environment = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data(), as: UTF8.self)
        #expect(environment.split(separator: "\0").contains("HOME=\(fixture.basePath)"))

        try await remote.terminate(state)
        #expect(sampler.samples > 100, "the sampler ran \(sampler.samples) times")
        #expect(sampler.sightings.isEmpty, "the cookie was on a command line: \(sampler.sightings)")
    }
}

extension CookieExposureTests {
    @Test("a start that fails before the release runs leaves no environment file behind")
    func failedStartLeavesNoEnvironment() async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let remote = try await fixture.remote()
        let deployed = try await remote.deploy(try fixture.entry("0.1.0"))
        try await remote.stop()
        try await remote.waitUntilUnregistered(timeout: .seconds(30))
        // Its log directory cannot be made: the start fails after the environment file was written.
        let root = "\(fixture.basePath)/0.1.0"
        try FileManager.default.removeItem(atPath: "\(root)/tmp")
        try "blocker".write(toFile: "\(root)/tmp", atomically: true, encoding: .utf8)
        await #expect { _ = try await remote.restart(version: deployed.version) } throws: {
            ($0 as? ReleaseError)?.code == .hostCommandFailed
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(".start-env") }
        #expect(leftovers.isEmpty, "left behind: \(leftovers)")
    }
}

@Suite("Long node names", .serialized)
struct LongNodeNameTests {
    @Test(
        "a release started with long names (-name) is reached by the name it registered, an IP or a FQDN host part",
        arguments: ["service_app@127.0.0.1", "service_app@node1.cluster.example"])
    func longNames(node: String) async throws {
        let fixture = try await RemoteReleaseFixture.start()
        defer { fixture.stop() }
        let release = fixture.release(environment: ["RELEASE_DISTRIBUTION": "name", "RELEASE_NODE": node])
        let remote = try await fixture.remote(release)
        let deployed = try await remote.deploy(try fixture.entry("0.1.0"))
        #expect(deployed.version == ReleaseVersion("0.1.0"))
        let (state, link) = try await remote.initializeState()
        #expect(state.status == .running)
        #expect(state.nodeName?.description == node)
        let connection = try #require(link?.connection)
        #expect(try await connection.rpc("erlang", "node") == .atom(Atom(node)))
        try await remote.terminate(state, link: link)
    }
}
