import Foundation
import Testing

/// Three daemons in three control namespaces, one etcd in its own, 4 hosts × 2 releases (`[cluster]`,
/// active-standby, lease_ttl 5s).
@Suite("several control machines through etcd", .serialized)
struct ClusterFailoverTests {
    static let ttl = 5
    static let releases = ["service_app", "app2"]

    private static func fleet() async throws -> (TestHosts, EtcdFixture) {
        let hosts = try TestHosts(count: 4)
        do {
            let etcd = try EtcdFixture(hosts: hosts)
            try await hosts.storeReleases(releases)
            try hosts.writeConfig(releases: releases)
            return (hosts, etcd)
        } catch {
            hosts.tearDown()
            throw error
        }
    }

    /// The fleet with 3 members started; `body` gets it once a leader supervises all 8 pairs, running. Everything
    /// is stopped afterwards, even when `body` fails.
    private static func withCluster(
        _ body: (TestHosts, EtcdFixture, [ControlMachine], ControlMachine, [[String: Any]]) async throws -> Void
    ) async throws {
        let (hosts, etcd) = try await fleet()
        defer { hosts.tearDown() }
        defer { etcd.process?.stop() }
        let members = try hosts.startMembers(3, etcd: etcd, ttl: "\(ttl)s")
        defer { for member in members { member.process.stop() } }
        let (leader, rows) = try await hosts.leaderWithAllRunning(members, pairs: 8)
        try await body(hosts, etcd, members, leader, rows)
    }

    @Test(
        "kill -9 of the leader: a standby leads within lease_ttl + 2 s, adopts all 8 with the same pids and restarts none; then it restarts a killed release",
        .enabled(if: EtcdFixture.unavailableReason == nil, "\(EtcdFixture.unavailableReason ?? "")"),
        .timeLimit(.minutes(6)))
    func leaderKilled() async throws {
        try await Self.withCluster { hosts, etcd, members, leader, rows in
            let pids = pidsByPair(rows)
            #expect(Set(pids.values).count == 8)
            // The standbys supervise nothing and hold no pair; every member agrees on the leader.
            for member in members where member.number != leader.number {
                let status = await hosts.clusterStatus(member)
                #expect(status?["role"] as? String == "standby")
                #expect(status?["leader"] as? String == leader.name)
                #expect((try await hosts.status(socket: member.socket)).isEmpty)
                let refusal = try runCommand(
                    controlnodeExecutable(), ["restart", "service_app", "--host", "host1", "--socket", member.socket])
                #expect(refusal.status != 0 && refusal.output.contains("supervised by \(leader.name)"), "\(refusal.output)")
            }
            #expect(try etcd.etcdctl(["get", "/controlnode-test/leader", "--print-value-only"]).contains(leader.name))

            leader.process.signal(SIGKILL)
            let killed = ContinuousClock.now
            _ = try await offload { try leader.process.exit(within: .seconds(30)) }
            let standbys = members.filter { $0.number != leader.number }
            let next = await hosts.firstToLead(standbys, timeout: .seconds(Self.ttl + 10))
            let takeover = ContinuousClock.now - killed
            let newLeader = try #require(next, "no standby took over: \(standbys.map { $0.process.log.suffix(1500) })")
            #expect(takeover <= .seconds(Self.ttl + 2), "a standby led after \(takeover)")

            let (all, after) = await hosts.allRunning(on: newLeader, pairs: 8)
            #expect(all, "\(after)")
            #expect(pidsByPair(after) == pids, "the new leader adopted the same OS processes")
            #expect(after.allSatisfy { $0["restarts"] as? Int == 0 }, "\(after)")
            for number in 1...4 {
                for release in Self.releases { #expect(try hosts.beams(of: release, onHost: number).count == 1) }
            }

            // A release dies under the new leader: it restarts it, once.
            let victim = try #require(pids["service_app@host2"])
            kill(pid_t(victim), SIGKILL)
            var restarted: [String: Any]?
            let back = await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
                let rows = (try? await hosts.status(socket: newLeader.socket)) ?? []
                restarted = fleetRow(rows, host: 2)
                return restarted?["status"] as? String == "running" && restarted?["os_pid"] as? Int != victim
            }
            #expect(back, "\(String(describing: restarted))")
            #expect(restarted?["restarts"] as? Int == 1)
            #expect(try hosts.beams(of: "service_app", onHost: 2).count == 1)
            #expect(newLeader.process.log.contains("adopting 8 pairs"))
        }
    }

    @Test(
        "the leader cut off from etcd stops acting within lease_ttl and a standby takes over; healed, it is a standby; with etcd down every member stops acting and the releases keep running",
        .enabled(if: EtcdFixture.unavailableReason == nil, "\(EtcdFixture.unavailableReason ?? "")"),
        .timeLimit(.minutes(8)))
    func partitions() async throws {
        try await Self.withCluster { hosts, etcd, members, leader, rows in
            let pids = pidsByPair(rows)

            // The leader loses etcd but keeps its hosts: a blackhole route to etcd in its namespace.
            let route = ["-n", "\(hosts.prefix)-\(leader.namespace)", "route", "add", "blackhole", "\(etcd.address)/32"]
            let logMark = leader.process.log.utf8.count
            #expect(try runCommand("/usr/bin/ip", route).status == 0)
            let cut = ContinuousClock.now
            // A release dies at once, while the old leader still holds its connections.
            let victim = try #require(pids["app2@host3"])
            kill(pid_t(victim), SIGKILL)
            var fencedAfter: Duration?
            let stopped = await eventually(timeout: .seconds(Self.ttl + 5), every: .milliseconds(100)) {
                guard await hosts.role(leader) == "fenced" else { return false }
                fencedAfter = ContinuousClock.now - cut
                return true
            }
            let cutRole = await hosts.role(leader)
            #expect(stopped, "the cut-off leader still says \(cutRole ?? "nothing")")
            #expect(fencedAfter.map { $0 <= .seconds(Self.ttl) } == true, "fenced after \(String(describing: fencedAfter))")
            let handedOver = await eventually(timeout: .seconds(5), every: .milliseconds(100)) {
                ((try? await hosts.status(socket: leader.socket)) ?? [[:]]).isEmpty
            }
            #expect(handedOver, "a fenced member supervises nothing")

            let standbys = members.filter { $0.number != leader.number }
            let newLeader = try #require(await hosts.firstToLead(standbys, timeout: .seconds(Self.ttl + 10)))
            let (all, after) = await hosts.allRunning(on: newLeader, pairs: 8)
            #expect(all, "\(after)")
            var expected = pids
            expected["app2@host3"] = nil
            #expect(pidsByPair(after).filter { $0.key != "app2@host3" } == expected, "the others were adopted, not restarted")
            // The killed release was started again exactly once, by the new leader alone.
            let beams = try hosts.beams(of: "app2", onHost: 3)
            #expect(beams.count == 1 && beams.first.map(Int.init) != victim, "\(beams)")
            let oldLog = String(decoding: Array(leader.process.log.utf8).dropFirst(logMark), as: UTF8.self)
            #expect(!oldLog.contains("event=restarted") && !oldLog.contains("event=started"), "\(oldLog.suffix(3000))")
            #expect(oldLog.contains("did not restart") || oldLog.contains("fenced") || oldLog.contains("handing over"))

            // Healed: the old leader comes back as a standby, and nothing moves.
            #expect(try runCommand("/usr/bin/ip", ["-n", "\(hosts.prefix)-\(leader.namespace)", "route", "del", "blackhole", "\(etcd.address)/32"]).status == 0)
            let rejoined = await eventually(timeout: .seconds(Self.ttl + 10), every: .milliseconds(200)) {
                await hosts.role(leader) == "standby"
            }
            let healedRole = await hosts.role(leader)
            #expect(rejoined, "\(healedRole ?? "no answer")")
            let stillLeading = await hosts.role(newLeader)
            #expect(stillLeading == "leader")
            let settled = pidsByPair(after)

            // etcd itself goes down: every member stops acting within lease_ttl, and the releases keep running.
            try etcd.kill()
            let down = ContinuousClock.now
            let allFenced = await eventually(timeout: .seconds(Self.ttl + 5), every: .milliseconds(200)) {
                var roles: [String?] = []
                for member in members { roles.append(await hosts.role(member)) }
                return roles.allSatisfy { $0 == "fenced" }
            }
            #expect(allFenced)
            #expect(ContinuousClock.now - down <= .seconds(Self.ttl + 1))
            for (pair, pid) in settled {
                let parts = pair.split(separator: "@")
                let host = Int(parts[1].dropFirst(4))!
                #expect(try hosts.beams(of: String(parts[0]), onHost: host).map(Int.init) == [pid], "\(pair) kept running")
            }
            // etcd is back: a leader resumes and adopts every release as it runs.
            try etcd.start()
            let (_, resumed) = try await hosts.leaderWithAllRunning(members, pairs: 8, timeout: .seconds(60))
            #expect(pidsByPair(resumed) == settled)
            #expect(resumed.allSatisfy { $0["restarts"] as? Int == 0 }, "\(resumed)")
        }
    }
}
