import Foundation
import Synchronization
import Testing

@testable import ReleaseSupervisor

@Suite("pinned and learned known_hosts files; locked, atomic appends")
struct KnownHostsFilesTests {
    let pinnedKey = Array("the pinned key blob".utf8)
    let learnedKey = Array("a learned key blob".utf8)

    func line(_ name: String, _ key: [UInt8]) -> String { "\(name) ssh-ed25519 \(Base64.encode(key))\n" }

    @Test("a pinned key wins over a learned one; the learned file counts where no pin names the host")
    func pinnedWins() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-knownhosts")
        defer { directory.remove() }
        try directory.write("pinned", "# pins\n" + line("web1", pinnedKey))
        try directory.write("learned", line("web2", learnedKey) + line("web1", learnedKey))
        let files = try KnownHostsFiles.load(pinnedPath: directory.file("pinned"), learnedPath: directory.file("learned"))

        #expect(files.decide(host: "web1", port: 22, keyType: "ssh-ed25519", key: pinnedKey) == .known)
        guard case .changed(let path, let known, let learned) =
            files.decide(host: "web1", port: 22, keyType: "ssh-ed25519", key: learnedKey)
        else {
            Issue.record("a learned key overrode the pin")
            return
        }
        #expect(path == directory.file("pinned"))
        #expect(known.map(\.line) == [2])
        #expect(learned?.line == 2)
        #expect(files.decide(host: "WEB2", port: 22, keyType: "ssh-ed25519", key: learnedKey) == .known)
        guard case .changed(let learnedPath, _, nil) =
            files.decide(host: "web2", port: 22, keyType: "ssh-ed25519", key: pinnedKey)
        else {
            Issue.record("a changed learned key was not refused")
            return
        }
        #expect(learnedPath == directory.file("learned"))
        #expect(files.decide(host: "web3", port: 22, keyType: "ssh-ed25519", key: pinnedKey) == .unknown)
        #expect(files.knownKeyTypes(host: "web1", port: 22) == ["ssh-ed25519"])
    }

    @Test("@revoked in either file refuses; missing files hold nothing; one path is one file")
    func revokedAndMissing() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-knownhosts")
        defer { directory.remove() }
        try directory.write("learned", "@revoked * ssh-ed25519 \(Base64.encode(pinnedKey))\n")
        let files = try KnownHostsFiles.load(pinnedPath: directory.file("absent"), learnedPath: directory.file("learned"))
        guard case .revoked(let path, let entry) =
            files.decide(host: "web1", port: 22, keyType: "ssh-ed25519", key: pinnedKey)
        else {
            Issue.record("a revoked key was accepted")
            return
        }
        #expect(path == directory.file("learned") && entry.line == 1)
        let single = try KnownHostsFiles.load(pinnedPath: directory.file("learned"), learnedPath: directory.file("learned"))
        #expect(single.learned == nil && single.learnedPath == directory.file("learned"))
    }

    @Test("a file without a trailing newline: the new line starts on its own line, both entries parse")
    func noTrailingNewline() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-knownhosts")
        defer { directory.remove() }
        let path = directory.file("known_hosts")
        try directory.write("known_hosts", String(line("web1", pinnedKey).dropLast()), mode: 0o644)
        try KnownHostsWriter.update(path) { _ in line("web2", learnedKey) }
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        #expect(contents == line("web1", pinnedKey) + line("web2", learnedKey))
        let parsed = KnownHosts.parse(Array(contents.utf8))
        #expect(parsed.entries.map(\.line) == [1, 2])
        #expect(parsed.verdict(host: "web1", port: 22, keyType: "ssh-ed25519", key: pinnedKey) == .known(parsed.entries[0]))
        // The mode the administrator chose stays; nothing but the file and its lock is left beside it.
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["known_hosts", "known_hosts.lock"])
    }

    @Test("a new file is 0600; a decision of nothing leaves the file as it was")
    func createAndDecline() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-knownhosts")
        defer { directory.remove() }
        let path = directory.file("known_hosts")
        var seen: [UInt8]?
        try KnownHostsWriter.update(path) { current in
            seen = current
            return line("web1", pinnedKey)
        }
        #expect(seen == [])
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        try KnownHostsWriter.update(path) { current in
            seen = current
            return nil
        }
        #expect(seen == Array(line("web1", pinnedKey).utf8))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int == inode)
    }

    @Test("a symbolic link is followed: the file it names is replaced, the link stays")
    func symbolicLink() throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-knownhosts")
        defer { directory.remove() }
        try directory.write("real", line("web1", pinnedKey))
        try FileManager.default.createSymbolicLink(atPath: directory.file("link"), withDestinationPath: directory.file("real"))
        try KnownHostsWriter.update(directory.file("link")) { _ in line("web2", learnedKey) }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory.file("link")) == directory.file("real"))
        #expect(try String(contentsOfFile: directory.file("real"), encoding: .utf8) == line("web1", pinnedKey) + line("web2", learnedKey))
    }

    @Test("writers at the same time (8 threads, 10 lines each) keep every line")
    func concurrentAppends() async throws {
        let directory = try TemporaryDirectory(prefix: "controlnode-knownhosts")
        defer { directory.remove() }
        let path = directory.file("known_hosts")
        let key = learnedKey
        let failures = try await offload { () -> [String] in
            let failures = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { writer in
                for index in 0..<10 {
                    do {
                        try KnownHostsWriter.update(path) { _ in "host-\(writer)-\(index) ssh-ed25519 \(Base64.encode(key))\n" }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
            return failures.withLock { $0 }
        }
        #expect(failures.isEmpty)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 80)
        #expect(Set(lines.map { $0.split(separator: " ")[0] }).count == 80)
        #expect(KnownHosts.parse(Array(try String(contentsOfFile: path, encoding: .utf8).utf8)).entries.count == 80)
    }
}
