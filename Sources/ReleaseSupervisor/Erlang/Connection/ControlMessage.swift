/// The operation codes of distribution control messages: the first element of each control tuple.
enum ControlOperation: Int {
    case link = 1
    case send = 2
    case exit = 3
    case unlink = 4
    case nodeLink = 5
    case registeredSend = 6
    case groupLeader = 7
    case exit2 = 8
    case sendTraced = 12
    case exitTraced = 13
    case registeredSendTraced = 16
    case exit2Traced = 18
    case monitorProcess = 19
    case demonitorProcess = 20
    case monitorProcessExit = 21
    case sendSender = 22
    case sendSenderTraced = 23
    case payloadExit = 24
    case payloadExitTraced = 25
    case payloadExit2 = 26
    case payloadExit2Traced = 27
    case payloadMonitorProcessExit = 28
    case spawnRequest = 29
    case spawnRequestTraced = 30
    case spawnReply = 31
    case spawnReplyTraced = 32
    case aliasSend = 33
    case aliasSendTraced = 34
    case unlinkID = 35
    case unlinkIDAck = 36
}

/// Encodes and decodes the packets of a connected node: a 4-byte length, the pass-through byte
/// (112, as no atom cache was agreed), the control tuple and, for sends and exits, the payload term.
enum ControlMessage {
    static let passThrough: UInt8 = 112

    /// A zero-length packet: the tick that says "still here".
    static let tick: [UInt8] = [0, 0, 0, 0]

    /// The complete packet for `control` and an optional payload.
    static func packet(control: Term, payload: Term? = nil) throws(TermEncodingError) -> [UInt8] {
        let encoder = TermEncoder()
        var packet: [UInt8] = [0, 0, 0, 0, passThrough, ExternalTag.version]
        try encoder.append(control, to: &packet)
        if let payload {
            packet.append(ExternalTag.version)
            try encoder.append(payload, to: &packet)
        }
        let length = UInt32(packet.count - 4)
        packet[0] = UInt8(truncatingIfNeeded: length >> 24)
        packet[1] = UInt8(truncatingIfNeeded: length >> 16)
        packet[2] = UInt8(truncatingIfNeeded: length >> 8)
        packet[3] = UInt8(truncatingIfNeeded: length)
        return packet
    }

    /// A received packet (without its length) split into the control tuple's elements and the payload.
    static func parse(
        _ packet: [UInt8], decoder: TermDecoder
    ) throws(TermDecodingError) -> (operation: Int, control: [Term], payload: Term?) {
        guard packet.first == passThrough else {
            throw TermDecodingError(
                .unknownTag, at: 0, "packet starts with \(packet.first ?? 0), not the pass-through byte 112")
        }
        var reader = ByteReader(packet, position: 1)
        let control = try decoder.decodeVersioned(from: &reader)
        let payload = reader.isAtEnd ? nil : try decoder.decodeVersioned(from: &reader)
        guard reader.isAtEnd else {
            throw TermDecodingError(.trailingBytes, at: reader.position, "bytes follow the message payload")
        }
        guard case .tuple(let elements) = control, let operation = elements.first?.intValue else {
            throw TermDecodingError(.invalidValue, at: 1, "control message is not a tuple starting with an integer")
        }
        return (operation, elements, payload)
    }
}
