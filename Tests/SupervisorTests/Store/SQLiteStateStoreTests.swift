import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("SQLite state store")
struct SQLiteStateStoreTests {
    private let v1 = ReleaseVersion("2.3.1")!
    private let v2 = ReleaseVersion("2.4.0")!
    private let root = Requester(uid: 0, user: "root")

    @Test("a new file is in WAL mode at the current schema; desired versions and history survive reopening")
    func roundTrip() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-store")
        defer { directory.remove() }
        do {
            let store = try SQLiteStateStore(directory: directory.path)
            #expect(try await store.schemaVersion() == SQLiteSchema.current)
            let record = OperationRecord(
                release: "ledger", kind: .deploy, version: v2, requester: root,
                hosts: [HostStep(host: "web1", position: 0, from: v1, to: v2)], settings: "max_parallel=1",
                phase: "staging")
            let id = try await store.begin(record, configRequest: nil)
            #expect(id == 1)
            let desired = DesiredVersion(version: v2, setBy: "deploy #1 by uid 0 (root)", operation: id)
            try await store.record(
                HostStep(host: "web1", position: 0, from: v1, to: v2, outcome: .updated), of: id, release: "ledger",
                desired: .some(desired), phase: "updating")
            try await store.update(operation: id, result: .succeeded, error: nil, phase: "done")
        }
        let reopened = try SQLiteStateStore(directory: directory.path)
        let desired = try await reopened.desiredVersions()
        #expect(desired[ReleaseHost(release: "ledger", host: "web1")]?.version == v2)
        #expect(desired[ReleaseHost(release: "ledger", host: "web1")]?.setBy == "deploy #1 by uid 0 (root)")
        let history = try await reopened.history(release: "ledger", limit: 10)
        let record = try #require(history.first)
        #expect(record.kind == .deploy && record.result == .succeeded && record.endedAt != nil)
        #expect(record.requester == root && record.settings == "max_parallel=1" && record.phase == "done")
        #expect(record.hosts == [HostStep(host: "web1", position: 0, from: v1, to: v2, outcome: .updated)])
        #expect(try await reopened.unfinished().isEmpty)
        let updates = try await reopened.updates(release: "ledger", host: "web1")
        #expect(updates.count == 1 && updates[0].from == v1 && updates[0].to == v2)
        // The sqlite3 CLI reads the same file.
        let (status, output) = try runCommand(
            "/usr/bin/sqlite3", [reopened.path, "SELECT kind, result FROM history; PRAGMA journal_mode;"])
        #expect(status == 0 && output.contains("deploy|succeeded") && output.contains("wal"), "\(output)")
    }

    @Test("history is newest first and filtered by release; unfinished operations are listed oldest first")
    func history() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-store")
        defer { directory.remove() }
        let store = try SQLiteStateStore(directory: directory.path)
        for (release, kind) in [("ledger", OperationKind.deploy), ("other", .stop), ("ledger", .rollback)] {
            _ = try await store.begin(
                OperationRecord(release: release, kind: kind, version: nil, requester: root, hosts: []), configRequest: nil)
        }
        try await store.update(operation: 2, result: .succeeded, error: nil, phase: nil)
        let ledger = try await store.history(release: "ledger", limit: 10)
        #expect(ledger.map(\.id) == [3, 1])
        #expect(try await store.history(release: nil, limit: 2).map(\.id) == [3, 2])
        #expect(try await store.unfinished().map(\.id) == [1, 3])
        try await store.update(operation: 1, result: .interrupted, error: nil, phase: nil)
        #expect(try await store.unfinished().map(\.id) == [1, 3])
    }

    @Test("config requests are recorded with the rollout that answers them; quarantine is set and lifted")
    func configAndQuarantine() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-store")
        defer { directory.remove() }
        let store = try SQLiteStateStore(directory: directory.path)
        let id = try await store.begin(
            OperationRecord(release: "ledger", kind: .config, version: v2, requester: .configuration, hosts: []),
            configRequest: v2)
        #expect(try await store.configRequests() == ["ledger": v2])
        try await store.quarantine(
            QuarantinedVersion(release: "ledger", version: v2, operation: id, reason: "web1: crashed", at: .now()))
        #expect(try await store.quarantined(release: "ledger").map(\.version) == [v2])
        #expect(try await store.quarantined(release: "other").isEmpty)
        try await store.liftQuarantine(release: "ledger", version: v2)
        #expect(try await store.quarantined(release: nil).isEmpty)
    }

    @Test("a file from a newer controlnode is refused, not written; a file that is no database says so")
    func refusals() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-store")
        defer { directory.remove() }
        let path = directory.file("state.db")
        let (status, output) = try runCommand("/usr/bin/sqlite3", [path, "PRAGMA user_version = 99;"])
        #expect(status == 0, "\(output)")
        #expect(throws: StoreError.self) { try SQLiteStateStore(path: path) }
        do {
            _ = try SQLiteStateStore(path: path)
        } catch {
            #expect(error.code == .tooNew && error.description.contains(path) && error.description.contains("99"))
        }
        try directory.write("garbage.db", String(repeating: "not a database ", count: 400), mode: 0o600)
        do {
            _ = try SQLiteStateStore(path: directory.file("garbage.db"))
            Issue.record("a file that is not a database was opened")
        } catch {
            #expect(error.code == .corrupt || error.code == .unavailable, "\(error)")
            #expect(error.description.contains("garbage.db"))
        }
        do {
            _ = try SQLiteStateStore(path: "/nonexistent-directory/state.db")
            Issue.record("a missing directory was accepted")
        } catch {
            #expect(error.description.contains("state directory"), "\(error)")
        }
    }

    @Test("an older file is migrated in place and keeps its rows")
    func migration() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-store")
        defer { directory.remove() }
        let path = directory.file("state.db")
        // A file at schema 1 with a row, as the first daemon with a store wrote it.
        let script = SQLiteSchema.migrations[0] + "\nINSERT INTO desired VALUES ('ledger','web1','2.3.1','config',NULL,'2026-12-01T09:00:00Z');\nPRAGMA user_version = 1;"
        let (status, output) = try runCommand("/usr/bin/sqlite3", [path, script])
        #expect(status == 0, "\(output)")
        let store = try SQLiteStateStore(path: path)
        #expect(try await store.schemaVersion() == SQLiteSchema.current)
        #expect(try await store.desiredVersions()[ReleaseHost(release: "ledger", host: "web1")]?.version == v1)
    }
}
