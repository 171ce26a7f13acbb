import Testing

@testable import ReleaseSupervisor

@Suite("Release versions and tarball names")
struct ReleaseVersionTests {
    @Test(
        "parses and prints semantic versions",
        arguments: ["0.1.0", "1.22.333", "1.0.0-rc.1", "2.0.0-alpha-2+build.7", "1.0.0+sha.5114f85"])
    func roundTrip(text: String) throws {
        #expect(try #require(ReleaseVersion(text)).description == text)
    }

    @Test(
        "refuses what is not a semantic version",
        arguments: ["", "1", "1.0", "1.0.0.0", "01.0.0", "1.0.0-", "1.0.0-a..b", "v1.0.0", "1.0.0+", "1.a.0", "-1.0.0"])
    func invalid(text: String) {
        #expect(ReleaseVersion(text) == nil)
    }

    @Test("orders by SemVer precedence")
    func ordering() throws {
        let ordered = [
            "0.2.0", "0.10.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
            "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "10.0.0",
        ]
        let versions = try ordered.map { try #require(ReleaseVersion($0)) }
        #expect(versions.shuffled().sorted() == versions)
        #expect(!(ReleaseVersion("1.0.0+a")! < ReleaseVersion("1.0.0+a")!))
        #expect(ReleaseVersion("1.0.0+a")! != ReleaseVersion("1.0.0+b")!)
    }

    @Test("tarball names split at the first dash; the version may hold more")
    func tarballNames() throws {
        let plain = try #require(ReleaseTarballName(fileName: "/tmp/x/service_app-0.1.0.tar.gz"))
        #expect(plain.name == "service_app" && plain.version.description == "0.1.0")
        #expect(plain.fileName == "service_app-0.1.0.tar.gz")
        let prerelease = try #require(ReleaseTarballName(fileName: "app-1.0.0-rc-1.tar.gz"))
        #expect(prerelease.version.prerelease == ["rc-1"])
        for bad in [
            "app.tar.gz", "app-1.0.0.tar", "-1.0.0.tar.gz", "App-1.0.0.tar.gz", "my-app-1.0.0.tar.gz",
            "9app-1.0.0.tar.gz",
        ] {
            #expect(ReleaseTarballName(fileName: bad) == nil, "\(bad)")
        }
    }
}
