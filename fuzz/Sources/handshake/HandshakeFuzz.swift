import FuzzSupport
@testable import ReleaseSupervisor

/// Plays the input back as what a node sends during the distribution handshake (status, challenge,
/// acknowledgement, in 2-byte-length packets), read in pieces, against our connecting side.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHandshake(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let bytes = input.bytes
    let pieceSize = input.pieceSize
    runBlocking {
        guard let local = try? NodeName("controlnode@localhost"), let peer = try? NodeName("myapp@localhost") else {
            preconditionFailure("the fuzz target's own node names do not parse")
        }
        let handshake = DistributionHandshake(localName: local, peer: peer, cookie: Cookie("fuzzcookie"), creation: 7)
        var reader = PacketReader(stream: ScriptedStream(bytes, pieceSize: pieceSize))
        do throws(DistributionError) {
            let outcome = try await handshake.perform(with: &reader)
            _ = outcome.peerName
        } catch {
            _ = error.description
        }
    }
    return 0
}
