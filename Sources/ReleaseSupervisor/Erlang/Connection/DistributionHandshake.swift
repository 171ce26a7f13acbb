/// The connecting side of the distribution handshake, protocol version 6 (OTP 23 and later).
///
/// Sends our name and capabilities, reads the node's status and challenge, proves knowledge of the
/// cookie with an MD5 digest, and checks the node's proof in turn. Packets have 2-byte lengths.
struct DistributionHandshake {
    /// What the node told us about itself.
    struct Outcome {
        let peerFlags: DistributionFlags
        let peerCreation: UInt32
        let peerName: String
    }

    let localName: NodeName
    let peer: NodeName
    let cookie: Cookie
    let creation: UInt32
    var flags: DistributionFlags = .ours
    /// Accept any host part in the node's name when the alive part matches (`acceptsAnyPeerHost`).
    var acceptsAnyHost = false

    private var node: String { peer.description }

    func perform(with reader: inout PacketReader) async throws(DistributionError) -> Outcome {
        var name: [UInt8] = [UInt8(ascii: "N")]
        name.appendBigEndian(flags.rawValue)
        name.appendBigEndian(creation)
        let nameBytes = Array(localName.description.utf8)
        name.appendBigEndian(UInt16(nameBytes.count))
        name += nameBytes
        try await send(name, reader: reader, step: "sending our name")

        let status = try await receive(&reader, step: "waiting for the node's status")
        try await checkStatus(status, reader: reader)

        let challengeMessage = try await receive(&reader, step: "waiting for the node's challenge")
        let outcome = try parseChallenge(challengeMessage)
        let peerChallenge = UInt32(challengeMessage[9]) << 24 | UInt32(challengeMessage[10]) << 16
            | UInt32(challengeMessage[11]) << 8 | UInt32(challengeMessage[12])

        let ourChallenge = UInt32.random(in: 0...UInt32.max)
        var reply: [UInt8] = [UInt8(ascii: "r")]
        reply.appendBigEndian(ourChallenge)
        reply += cookie.digest(challenge: peerChallenge)
        try await send(reply, reader: reader, step: "sending our challenge reply")

        let ack: [UInt8]
        do {
            guard let packet = try await reader.readPacket(headerSize: 2, maximum: 1024) else {
                throw PacketReader.Failure.endOfStream
            }
            ack = packet
        } catch PacketReader.Failure.endOfStream {
            // The node closes without a word when our digest is wrong.
            throw DistributionError(.cookieRejected, node: node, "the node closed the connection after our digest")
        } catch {
            throw DistributionError(
                .connectionFailed, node: node, "connection failed waiting for the challenge acknowledgement",
                underlyingError: error)
        }
        guard ack.count == 17, ack[0] == UInt8(ascii: "a") else {
            throw DistributionError(.protocolViolation, node: node, "malformed challenge acknowledgement")
        }
        guard constantTimeEqual(Array(ack[1...]), cookie.digest(challenge: ourChallenge)) else {
            throw DistributionError(
                .peerAuthenticationFailed, node: node,
                "the node answered our challenge with a wrong digest: it does not hold our cookie; refusing it")
        }
        return outcome
    }

    private func checkStatus(_ status: [UInt8], reader: PacketReader) async throws(DistributionError) {
        guard status.first == UInt8(ascii: "s") else {
            throw DistributionError(.protocolViolation, node: node, "expected a status message")
        }
        let text = String(decoding: status.dropFirst(), as: UTF8.self)
        switch text {
        case "ok", "ok_simultaneous":
            return
        case "alive":
            // The node still has a connection under our name: a previous connection of ours that it
            // has not seen die yet. Ask it to drop that one and keep this one.
            try await send(Array("strue".utf8), reader: reader, step: "confirming we replace our old connection")
        case "nok", "not_allowed":
            throw DistributionError(
                .connectionRefused, node: node,
                "the node refused the connection (\(text)); check net_kernel:allow/1 and the node's name mode")
        default:
            throw DistributionError(.connectionRefused, node: node, "the node refused the connection (\(text))")
        }
    }

    private func parseChallenge(_ message: [UInt8]) throws(DistributionError) -> Outcome {
        guard message.count >= 19, message[0] == UInt8(ascii: "N") else {
            if message.first == UInt8(ascii: "n") {
                throw DistributionError(
                    .unsupportedPeer, node: node, "the node speaks distribution version 5 only (OTP 22 or older)")
            }
            throw DistributionError(.protocolViolation, node: node, "malformed challenge message")
        }
        var flagBits: UInt64 = 0
        for byte in message[1..<9] { flagBits = flagBits << 8 | UInt64(byte) }
        let creation = message[13..<17].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let nameLength = Int(message[17]) << 8 | Int(message[18])
        guard message.count >= 19 + nameLength else {
            throw DistributionError(.protocolViolation, node: node, "challenge message name is truncated")
        }
        let name = String(decoding: message[19..<19 + nameLength], as: UTF8.self)
        let peerFlags = DistributionFlags(rawValue: flagBits)
        let missing = DistributionFlags.requiredOfPeer.subtracting(peerFlags)
        guard missing.isEmpty else {
            throw DistributionError(
                .unsupportedPeer, node: node,
                "the node lacks capabilities this client needs (flags 0x\(String(missing.rawValue, radix: 16)))")
        }
        let sameAlive = name.split(separator: "@", maxSplits: 1).first.map(String.init) == peer.alive
        guard name == peer.description || (acceptsAnyHost && sameAlive && name.contains("@")) else {
            throw DistributionError(
                .protocolViolation, node: node, "the node calls itself \(name); check the node name in the configuration")
        }
        return Outcome(peerFlags: peerFlags, peerCreation: creation, peerName: name)
    }

    private func send(_ message: [UInt8], reader: PacketReader, step: String) async throws(DistributionError) {
        do {
            try await reader.stream.write([UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message)
        } catch {
            throw DistributionError(.connectionFailed, node: node, "connection failed \(step)", underlyingError: error)
        }
    }

    private func receive(_ reader: inout PacketReader, step: String) async throws(DistributionError) -> [UInt8] {
        do {
            guard let packet = try await reader.readPacket(headerSize: 2, maximum: 64 * 1024) else {
                throw DistributionError(
                    .connectionFailed, node: node,
                    "the node closed the connection \(step); is this its distribution port, and is the name right?")
            }
            return packet
        } catch let error as DistributionError {
            throw error
        } catch {
            throw DistributionError(.connectionFailed, node: node, "connection failed \(step)", underlyingError: error)
        }
    }

    private func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension [UInt8] {
    mutating func appendBigEndian<Value: FixedWidthInteger>(_ value: Value) {
        for shift in stride(from: Value.bitWidth - 8, through: 0, by: -8) {
            append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }
}
