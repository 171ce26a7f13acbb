import Foundation
import Testing

extension FleetScaleTests {
    /// The 200 running pairs shared by 3 members in sharded mode (a real etcd, lease_ttl 5s, the packaged build):
    /// READY on each within 5 s, every pair exactly one owner, none restarted; a member killed moves only its own
    /// pairs, within lease_ttl and the adoption, still unrestarted. Called at the end of `twoHundredReleases`, which
    /// leaves its 200 releases running and its daemon stopped.
    static func shareAmongMembers(_ hosts: TestHosts, pids: [String: Int], executable: String) async throws {
        let etcd = try EtcdFixture(hosts: hosts)
        defer { etcd.process?.stop() }
        var members: [ControlMachine] = []
        var collectors: [NotifyCollector] = []
        defer {
            for member in members { member.process.stop() }
            for collector in collectors { collector.stop() }
        }
        for number in 1...3 {
            let notify = try NotifySocket(path: hosts.directory.file("notify-\(number).sock"))
            let collector = NotifyCollector(notify)
            collectors.append(collector)
            let started = ContinuousClock.now
            members.append(try hosts.startMember(
                number, etcd: etcd, ttl: "5s", mode: "sharded", executable: executable,
                environment: ["NOTIFY_SOCKET": notify.address]))
            let ready = await collector.waitFor("READY=1", timeout: .seconds(30))
            let toReady = ContinuousClock.now - started
            #expect(ready != nil, "ctl-\(number): no READY=1: \(members[number - 1].process.log.suffix(2000))")
            #expect(toReady <= .seconds(5), "ctl-\(number): READY=1 after \(toReady)")
        }

        // Every pair has exactly one owner, and runs as before.
        var owners: [String: [Int]] = [:]
        var rows: [[String: Any]] = []
        let shared = await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
            owners = [:]
            rows = []
            for member in members {
                let own = (try? await hosts.status(socket: member.socket)) ?? []
                rows += own
                for pair in pidsByPair(own).keys { owners[pair, default: []].append(member.number) }
            }
            return rows.count == 200 && owners.count == 200
                && rows.allSatisfy { $0["status"] as? String == "running" }
        }
        #expect(shared, "\(rows.count) rows, \(owners.count) pairs")
        #expect(owners.values.allSatisfy { $0.count == 1 }, "\(owners.filter { $0.value.count != 1 })")
        #expect(pidsByPair(rows) == pids, "the members adopted the running releases")
        #expect(rows.allSatisfy { $0["restarts"] as? Int == 0 })
        let status = await hosts.clusterStatus(members[0])
        #expect((status?["members"] as? [String]) == ["ctl-1", "ctl-2", "ctl-3"], "\(String(describing: status))")
        let third = Set(owners.filter { $0.value == [3] }.keys)
        #expect(third.count >= 30 && third.count <= 110, "ctl-3 owns \(third.count) of 200")

        // ctl-3 is killed: its pairs, and only those, move to the two others, unrestarted.
        members[2].process.signal(SIGKILL)
        let killed = ContinuousClock.now
        var moved: [String: [Int]] = [:]
        var after: [[String: Any]] = []
        let taken = await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
            moved = [:]
            after = []
            for member in members.prefix(2) {
                let own = (try? await hosts.status(socket: member.socket)) ?? []
                after += own
                for pair in pidsByPair(own).keys { moved[pair, default: []].append(member.number) }
            }
            return after.count == 200 && after.allSatisfy { $0["status"] as? String == "running" }
        }
        let took = ContinuousClock.now - killed
        #expect(taken, "\(after.count) rows")
        #expect(took <= .seconds(15), "ctl-3's pairs were adopted \(took) after it was killed")
        #expect(moved.values.allSatisfy { $0.count == 1 })
        for (pair, owner) in owners where owner != [3] { #expect(moved[pair] == owner, "\(pair) moved though ctl-3 did not own it") }
        #expect(pidsByPair(after) == pids)
        #expect(after.allSatisfy { $0["restarts"] as? Int == 0 })
    }
}
