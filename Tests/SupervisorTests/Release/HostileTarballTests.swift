import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("Crafted tarballs that would let a local user of a host take over the release are refused")
struct HostileTarballTests {
    typealias Member = SyntheticTarball.Member

    private func refusal(
        _ members: [Member], version: String = "1.0.0", plain: Bool = true
    ) throws -> RegistryError? {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let tarball = try SyntheticTarball.crafted(
            name: "shop", version: version, in: scratch, members: members, plain: plain)
        do {
            try registry.store(tarball)
            return nil
        } catch {
            #expect(try FileManager.default.contentsOfDirectory(atPath: registry.directory).filter { !$0.hasPrefix(".") }.isEmpty)
            return error
        }
    }

    @Test(
        "modes, owners and member types",
        arguments: [
            ([Member(name: "./", type: "5", mode: 0o777, uid: 1000)], "release directory itself"),
            ([Member(name: "bin/helper", mode: 0o4777)], "setuid"),
            ([Member(name: "bin/helper", mode: 0o2755)], "setgid"),
            ([Member(name: "tmp", type: "5", mode: 0o1777)], "sticky"),
            ([Member(name: "lib/open", type: "5", mode: 0o777)], "writable by every user"),
            ([Member(name: "releases/1.0.0/sys.config", mode: 0o664)], "writable by its group"),
            ([Member(name: "tmp/pipe", type: "6", mode: 0o600)], "FIFO"),
        ])
    func unsafeMembers(members: [Member], reason: String) throws {
        let error = try #require(try refusal(members))
        #expect(error.code == .unsafeContents)
        #expect(error.description.contains(reason), "\(error)")
    }

    @Test("a symbolic link chain through a link seen earlier cannot point above the release")
    func linkChain() throws {
        let chain = [Member(name: "a", type: "2", mode: 0o777, link: "."), Member(name: "a/a/a/l", type: "2", mode: 0o777, link: "../../..")]
        let error = try #require(try refusal(chain))
        #expect(error.code == .unsafeContents)
        // A file written through a link that leads out is refused too.
        let through = [Member(name: "up", type: "2", mode: 0o777, link: "lib/.."), Member(name: "up/../x", data: "x")]
        #expect(try refusal(through)?.code == .unsafeContents)
        // Links that stay inside, even through other links, are what releases hold: accepted.
        let inside = [
            Member(name: "lib", type: "5", mode: 0o755), Member(name: "lib/current", type: "2", mode: 0o777, link: "../releases/1.0.0"),
            Member(name: "lib/boot", type: "2", mode: 0o777, link: "current/start.boot"),
        ]
        #expect(try refusal(inside) == nil)
    }

    @Test("names longer than a host's PATH_MAX are refused before any link is resolved")
    func longNames() throws {
        let deep = String(repeating: "d/", count: 2100) + "file"
        let error = try #require(try refusal([Member(name: deep, data: "x")]))
        #expect(error.code == .unsafeContents && error.description.contains("4096 bytes"), "\(error)")
    }

    @Test("the version label: exactly one releases/<version>/, the name's, and start_erl.data boots it")
    func versionLabel() throws {
        let second = [Member(name: "releases/9.9.9", type: "5", mode: 0o755), Member(name: "releases/9.9.9/start.boot", data: "x")]
        let extra = try #require(try refusal(second))
        #expect(extra.code == .mislabelled)
        #expect(extra.description.contains("exactly one version directory"), "\(extra)")

        let boots = [
            Member(name: "bin", type: "5", mode: 0o755), Member(name: "bin/shop", mode: 0o755, data: "#!/bin/sh\n"),
            Member(name: "releases/start_erl.data", data: "13.1.5 9.9.9\n"),
            Member(name: "releases/1.0.0/start.boot", data: "boot\n"),
        ]
        let other = try #require(try refusal(boots, plain: false))
        #expect(other.code == .mislabelled)
        #expect(other.description.contains("boots version 9.9.9"), "\(other)")

        let none = [
            Member(name: "bin/shop", mode: 0o755, data: "#!/bin/sh\n"), Member(name: "releases/1.0.0/start.boot", data: "boot\n"),
        ]
        #expect(try refusal(none, plain: false)?.description.contains("start_erl.data") == true)
    }

    @Test("a deploy re-checks the stored tarball: a pair swapped into the registry directory is refused")
    func deployRechecks() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let good = try SyntheticTarball.make(name: "shop", version: "1.0.0", in: scratch)
        let entry = try registry.store(good)
        #expect(try registry.verifiedFetch("shop", ReleaseVersion("1.0.0")!).sha256 == entry.sha256)

        // Someone with write access to the directory drops in another archive with a matching checksum file.
        let hostile = try TemporaryDirectory()
        defer { hostile.remove() }
        let crafted = try SyntheticTarball.crafted(
            name: "shop", version: "1.0.0", in: hostile, members: [Member(name: "bin/helper", mode: 0o4755)])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: crafted))
        try bytes.write(to: URL(fileURLWithPath: entry.path))
        let digest = try runCommand("/usr/bin/sha256sum", [entry.path]).output.split(separator: " ").first.map(String.init) ?? ""
        try "\(digest)  shop-1.0.0.tar.gz\n".write(toFile: entry.path + ".sha256", atomically: true, encoding: .utf8)
        #expect(throws: RegistryError.self) { try registry.verifiedFetch("shop", ReleaseVersion("1.0.0")!) }

        // A tarball whose bytes no longer match its checksum file is refused as well.
        try Data(contentsOf: URL(fileURLWithPath: good)).write(to: URL(fileURLWithPath: entry.path))
        let changed = try #require(throws: RegistryError.self) { try registry.verifiedFetch("shop", ReleaseVersion("1.0.0")!) }
        #expect(changed.description.contains("changed since it was added"), "\(changed)")
    }
}
