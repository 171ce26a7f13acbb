import FuzzSupport
@testable import ReleaseSupervisor

/// The bytes a connected node sends, cut into packets both ways the connection can read them (pushed
/// pieces through `PacketAssembler`, pulled reads through `PacketReader`), which must agree; each packet is
/// then split into its control tuple and payload as the receive loop does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDistributionFraming(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let maximum = 64 << 10
    var assembler = PacketAssembler(leftover: [], maximum: maximum)
    var pushed: [[UInt8]] = []
    var pushedTooLarge = false
    for piece in input.pieces {
        do {
            pushed += try piece.withUnsafeBytes { try assembler.append($0) }
        } catch {
            pushedTooLarge = true
            break
        }
    }
    let pieceSize = input.pieceSize
    let bytes = input.bytes
    let (pulled, pulledTooLarge) = runBlocking { () -> ([[UInt8]], Bool) in
        var reader = PacketReader(stream: ScriptedStream(bytes, pieceSize: pieceSize))
        var packets: [[UInt8]] = []
        do {
            while let packet = try await reader.readPacket(headerSize: 4, maximum: maximum) { packets.append(packet) }
            return (packets, false)
        } catch PacketReader.Failure.tooLarge {
            return (packets, true)
        } catch {
            return (packets, false)  // The stream ended inside a packet: the assembler just waits for more.
        }
    }
    precondition(pushedTooLarge == pulledTooLarge, "the assembler and the reader disagree on an oversized packet")
    // An oversized header ends both; the assembler drops what completed in the same push (the connection
    // closes on it at once), so its packets are then a prefix of the reader's.
    precondition(
        pushedTooLarge ? pulled.starts(with: pushed) : pushed == pulled,
        "the assembler cut \(pushed.count) packets, the reader \(pulled.count)")
    let decoder = TermDecoder()
    for packet in pushed where !packet.isEmpty {
        guard let (operation, control, payload) = try? ControlMessage.parse(packet, decoder: decoder) else { continue }
        _ = ControlOperation(rawValue: operation)
        _ = control.map(\.description)
        _ = payload?.description
    }
    return 0
}
