import Testing

@testable import ReleaseSupervisor

@Suite("EPMD client")
struct EPMDClientTests {
    @Test("NAMES lists the node with the port PORT_PLEASE2 reports")
    func namesAndPort() async throws {
        let fixture = try await ErlangNodeFixture("epmd")
        defer { fixture.stop() }
        let names = try await fixture.epmdClient.names()
        let info = try #require(try await fixture.epmdClient.lookup(fixture.nodeName.alive))
        #expect(names[fixture.nodeName.alive] == info.port)
        #expect(info.name == fixture.nodeName.alive)
        #expect(info.nodeType == .normal)
        #expect(info.transportProtocol == 0)
        #expect(info.highestVersion >= 6 && info.lowestVersion <= 6)
    }

    @Test("PORT_PLEASE2 for an unknown name is nil")
    func unknownName() async throws {
        let fixture = try await ErlangNodeFixture("epmd_unknown")
        defer { fixture.stop() }
        let info = try await fixture.epmdClient.lookup("no_such_node")
        #expect(info == nil)
    }

    @Test("an EPMD that is not there is a clear error")
    func noEPMD() async throws {
        let port = try freeLoopbackPort()
        let error = await #expect(throws: DistributionError.self) { try await EPMDClient.tcp(port: port).names() }
        #expect(error?.code == .epmdFailed)
        #expect(error?.description.contains("is epmd running") == true)
    }
}
