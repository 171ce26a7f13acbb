import Crypto
import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("Release registry")
struct RegistryTests {
    @Test("stores a tarball under its name and fetches it with size and SHA-256")
    func storeAndFetch() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let source = try SyntheticTarball.make(name: "shop", version: "1.2.3", in: scratch)
        let registry = try Registry(directory: scratch.file("registry"))
        let stored = try registry.store(source)
        let fetched = try registry.fetch("shop", try #require(ReleaseVersion("1.2.3")))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let expected = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        #expect(stored == fetched)
        #expect(fetched.path == scratch.file("registry/shop-1.2.3.tar.gz"))
        #expect(fetched.sha256 == expected)
        #expect(fetched.size == bytes.count)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fetched.path)) == bytes)
        let checksumFile = try String(contentsOfFile: fetched.path + ".sha256", encoding: .utf8)
        #expect(checksumFile == "\(expected)  shop-1.2.3.tar.gz\n")
        let (status, output) = try runCommand(
            "/bin/sh", ["-c", "cd \"$1\" && sha256sum -c shop-1.2.3.tar.gz.sha256", "sh", registry.directory])
        #expect(status == 0, "sha256sum -c: \(output)")
    }

    @Test("lists versions in semantic-version order, per release")
    func versionsSorted() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        for version in ["0.10.0", "0.2.0", "1.0.0", "1.0.0-rc.1", "0.9.1"] {
            try registry.store(try SyntheticTarball.make(name: "shop", version: version, in: scratch))
        }
        try registry.store(try SyntheticTarball.make(name: "cart", version: "2.0.0", in: scratch))
        #expect(
            try registry.versions(of: "shop").map(\.description) == ["0.2.0", "0.9.1", "0.10.0", "1.0.0-rc.1", "1.0.0"])
        #expect(
            try registry.list().mapValues { $0.map(\.description) } == [
                "shop": ["0.2.0", "0.9.1", "0.10.0", "1.0.0-rc.1", "1.0.0"], "cart": ["2.0.0"],
            ])
        #expect(try registry.versions(of: "nothing").isEmpty)
    }

    @Test("storing the same contents again is a no-op; other contents under a stored version are refused")
    func sameAndConflict() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let first = try registry.store(try SyntheticTarball.make(name: "shop", version: "1.0.0", in: scratch))
        #expect(try registry.store(first.path.replacingOccurrences(of: "/registry/", with: "/")) == first)
        let other = try SyntheticTarball.make(
            name: "shop", version: "1.0.0", in: scratch, extraFiles: ["lib/new.txt": "new"],
            fileName: "x/shop-1.0.0.tar.gz")
        let error = try #require(throws: RegistryError.self) { try registry.store(other) }
        #expect(error.code == .conflict)
        #expect(error.description.contains("shop-1.0.0.tar.gz") && error.description.contains("new version"))
        #expect(try registry.fetch(first.release) == first)
        try expectOnlyEntries(registry, ["shop-1.0.0.tar.gz", "shop-1.0.0.tar.gz.sha256"])
    }

    @Test("a file of random bytes is refused as not gzip, leaving nothing behind")
    func randomBytes() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let path = scratch.file("shop-1.0.0.tar.gz")
        try Data(patternBytes(count: 100_000, seed: 7)).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: RegistryError.self) { try registry.store(path) }
        #expect(error.code == .corrupt)
        #expect(error.path == path)
        #expect(error.description.contains("not gzip") && error.description.contains(path))
        try expectOnlyEntries(registry, [])
    }

    @Test("gzip of something that is not tar is refused as corrupt")
    func gzipNotTar() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let path = scratch.file("shop-1.0.0.tar.gz")
        try SyntheticTarball.gzip(Data(patternBytes(count: 5000, seed: 3)), in: scratch).write(
            to: URL(fileURLWithPath: path))
        let error = try #require(throws: RegistryError.self) { try registry.store(path) }
        #expect(error.code == .corrupt)
        #expect(error.description.contains("checksum"))
        try expectOnlyEntries(registry, [])
    }

    @Test("a truncated tarball is refused as truncated, at any cut")
    func truncated() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let whole = try Data(
            contentsOf: URL(
                fileURLWithPath: try SyntheticTarball.make(
                    name: "shop", version: "1.0.0", in: scratch,
                    extraFiles: ["lib/big.txt": String(repeating: "x", count: 200_000)],
                    fileName: "whole.tar.gz")))
        for cut in [whole.count / 3, whole.count - 4, whole.count - 1, 0] {
            let path = scratch.file("shop-1.0.0.tar.gz")
            try whole.prefix(cut).write(to: URL(fileURLWithPath: path))
            let error = try #require(throws: RegistryError.self) { try registry.store(path) }
            #expect(error.code == .truncated || error.code == .corrupt, "cut at \(cut): \(error)")
            #expect(error.description.contains(path))
        }
        let half = scratch.file("shop-1.0.0.tar.gz")
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: half))
        let error = try #require(throws: RegistryError.self) { try registry.store(half) }
        #expect(error.code == .truncated)
        #expect(error.description.contains("incomplete"))
        try expectOnlyEntries(registry, [])
    }

    @Test("contents of another version or release than the name says are refused")
    func mislabelledSynthetic() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let otherVersion = try SyntheticTarball.make(
            name: "shop", version: "1.0.0", in: scratch, releaseVersion: "2.0.0")
        let versionError = try #require(throws: RegistryError.self) { try registry.store(otherVersion) }
        #expect(versionError.code == .mislabelled)
        #expect(
            versionError.description.contains("releases/2.0.0/")
                && versionError.description.contains("shop-2.0.0.tar.gz"))
        let otherName = try SyntheticTarball.make(name: "shop", version: "1.0.0", in: scratch, binary: "cart")
        let nameError = try #require(throws: RegistryError.self) { try registry.store(otherName) }
        #expect(nameError.code == .mislabelled)
        #expect(nameError.description.contains("bin/cart"))
        try expectOnlyEntries(registry, [])
    }

    @Test("entries that would land outside the release directory are refused")
    func unsafePaths() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let path = try SyntheticTarball.make(
            name: "shop", version: "1.0.0", in: scratch, tarOptions: ["-P", "--transform", "s,^bin/shop$,../escape,"])
        let error = try #require(throws: RegistryError.self) { try registry.store(path) }
        #expect(error.code == .unsafeContents)
        #expect(error.description.contains("../escape"))
        try expectOnlyEntries(registry, [])
    }

    @Test("a file name that is not <name>-<version>.tar.gz is refused before anything is read")
    func badFileName() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        for name in ["shop.tar.gz", "shop-1.0.tar.gz", "Shop-1.0.0.tar.gz", "shop-1.0.0.tgz", "shop-01.0.0.tar.gz"] {
            let error = try #require(throws: RegistryError.self) { try registry.store(scratch.file(name)) }
            #expect(error.code == .invalidName, "\(name)")
            #expect(error.description.contains(name))
        }
        let missing = try #require(throws: RegistryError.self) { try registry.store(scratch.file("shop-1.0.0.tar.gz")) }
        #expect(missing.code == .unreadable)
        let notFound = try #require(throws: RegistryError.self) {
            try registry.fetch("shop", try #require(ReleaseVersion("9.9.9")))
        }
        #expect(notFound.code == .notFound)
        #expect(notFound.description.contains("shop 9.9.9"))
        try expectOnlyEntries(registry, [])
    }

    @Test("the real service_app tarballs are stored; each refused under the other's version or another name")
    func realTarballs() async throws {
        let v1 = try await ReleaseFixture.tarball("0.1.0")
        let v2 = try await ReleaseFixture.tarball("0.2.0")
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let registry = try Registry(directory: scratch.file("registry"))
        let entry = try registry.store(v1)
        #expect(entry.name == "service_app" && entry.version.description == "0.1.0")
        #expect(entry.size == (try LocalFile.size(v1)))

        let mislabelled = scratch.file("service_app-0.1.0.tar.gz")
        try FileManager.default.copyItem(atPath: v2, toPath: mislabelled)
        let versionError = try #require(throws: RegistryError.self) { try registry.store(mislabelled) }
        #expect(versionError.code == .mislabelled)
        #expect(versionError.description.contains("releases/0.2.0/"))

        let otherName = scratch.file("other_app-0.2.0.tar.gz")
        try FileManager.default.copyItem(atPath: v2, toPath: otherName)
        let nameError = try #require(throws: RegistryError.self) { try registry.store(otherName) }
        #expect(nameError.code == .mislabelled)
        #expect(nameError.description.contains("bin/service_app"))

        try registry.store(v2)
        #expect(try registry.versions(of: "service_app").map(\.description) == ["0.1.0", "0.2.0"])
        try expectOnlyEntries(
            registry,
            [
                "service_app-0.1.0.tar.gz", "service_app-0.1.0.tar.gz.sha256",
                "service_app-0.2.0.tar.gz", "service_app-0.2.0.tar.gz.sha256",
            ])
    }

    /// The registry directory holds exactly `names` (besides its lock file): no partial files.
    private func expectOnlyEntries(_ registry: Registry, _ names: Set<String>) throws {
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: registry.directory)).subtracting([".lock"]
        )
        #expect(present == names)
    }
}
