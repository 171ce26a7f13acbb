import Logging
import Synchronization

extension DistributionConnection {
    /// Reads packets until the stream ends or breaks the protocol; returns why it stopped.
    func receiveLoop(_ reader: PacketReader) async -> NodeDownReason {
        var reader = reader
        while true {
            let packet: [UInt8]?
            do {
                packet = try await reader.readPacket(headerSize: 4, maximum: configuration.maximumMessageSize)
            } catch PacketReader.Failure.tooLarge(let length) {
                return Self.oversized(.tooLarge(length), limit: configuration.maximumMessageSize)
            } catch PacketReader.Failure.endOfStream {
                return .closedByPeer
            } catch is CancellationError {
                return .closedLocally
            } catch {
                return .connectionLost("\(error)")
            }
            guard let packet else { return .closedByPeer }
            if let reason = accept(packet) { return reason }
        }
    }

    /// Handles packets as the stream pushes them on its event thread, until the connection ends;
    /// returns why. Replies reach their callers without a hop through a reading task.
    func receivePushed(from stream: any PushReadableStream, reader: PacketReader) async -> NodeDownReason {
        var reader = reader
        let ending = EndSignal()
        var assembler = PacketAssembler(leftover: reader.takeBuffered(), maximum: configuration.maximumMessageSize)
        do {
            for packet in try assembler.complete() {  // Whole packets that came with the handshake.
                if let reason = accept(packet) { return reason }
            }
        } catch {
            return Self.oversized(error, limit: configuration.maximumMessageSize)
        }
        let pending = Locked(assembler)
        stream.pushReads { [self] read in
            guard !ending.isFulfilled else { return }
            switch read {
            case .bytes(let bytes):
                let packets: [[UInt8]]
                do throws(PacketReader.Failure) {
                    packets = try pending.withLock { assembler throws(PacketReader.Failure) in try assembler.append(bytes) }
                } catch {
                    ending.fulfill(Self.oversized(error, limit: configuration.maximumMessageSize))
                    return
                }
                for packet in packets {
                    if let reason = accept(packet) {
                        ending.fulfill(reason)
                        return
                    }
                }
            case .end:
                ending.fulfill(.closedByPeer)
            case .failed(let error):
                ending.fulfill(.connectionLost("\(error)"))
            }
        }
        return await ending.wait()
    }

    private static func oversized(_ failure: PacketReader.Failure, limit: Int) -> NodeDownReason {
        guard case .tooLarge(let length) = failure else { return .closedByPeer }
        return .protocolError("a message of \(length) bytes exceeds the limit of \(limit)")
    }

    /// Notes that the node spoke and handles one packet; returns a reason only when it breaks the protocol.
    private func accept(_ packet: [UInt8]) -> NodeDownReason? {
        lastReceived.store(MonotonicClock.nanoseconds(), ordering: .relaxed)
        if packet.isEmpty { return nil }  // A tick.
        return handle(packet)
    }

    /// Acts on one message from the node; returns a reason only when the message breaks the protocol.
    private func handle(_ packet: [UInt8]) -> NodeDownReason? {
        let operation: Int
        let control: [Term]
        let payload: Term?
        do {
            (operation, control, payload) = try ControlMessage.parse(packet, decoder: decoder)
        } catch {
            return .protocolError("undecodable message from the node: \(error)")
        }
        switch ControlOperation(rawValue: operation) {
        case .send, .sendTraced, .sendSender, .sendSenderTraced, .aliasSend, .aliasSendTraced:
            guard let payload else { return .protocolError("a send without a message") }
            deliver(payload, bytes: packet.count)
        case .registeredSend, .registeredSendTraced:
            guard let payload, control.count >= 4 else { return .protocolError("a malformed registered send") }
            answerRegisteredSend(to: control[3], payload, bytes: packet.count)
        case .monitorProcessExit:
            guard control.count == 5 else { return .protocolError("a malformed MONITOR_P_EXIT") }
            processExited(control[1], reference: control[3], reason: control[4])
        case .payloadMonitorProcessExit:
            guard let payload, control.count == 4 else { return .protocolError("a malformed PAYLOAD_MONITOR_P_EXIT") }
            processExited(control[1], reference: control[3], reason: payload)
        case .unlinkID:
            // {UNLINK_ID, Id, From, To}: acknowledge before anything else goes to From.
            guard control.count == 4 else { return .protocolError("a malformed UNLINK_ID") }
            send(control: .tuple(36, control[1], control[3], control[2]))
        case .monitorProcess:
            // {MONITOR_P, From, Target, Ref}: our process and our net_kernel (which answers pings) live
            // as long as the connection; any other target does not exist here, which a real node
            // would answer with noproc.
            guard control.count == 4 else { return .protocolError("a malformed MONITOR_P") }
            if control[2] != .pid(pid) && control[2] != "net_kernel" {
                refuseMonitor(from: control[1], target: control[2], reference: control[3])
            }
        case .link:
            guard control.count == 3 else { return .protocolError("a malformed LINK") }
            if control[2] != .pid(pid) { refuseLink(from: control[1], target: control[2]) }
        default:
            // Exits, unlinks of links we never made, group leader changes, spawn requests (never
            // agreed), and anything newer: nothing for a control client to do.
            logger.trace("ignoring control message \(operation)")
        }
        return nil
    }

    /// A message to our process, which arrived in `bytes`: an RPC reply, an output request from an RPC, or
    /// an unsolicited message, which `events` holds only within its budget.
    private func deliver(_ message: Term, bytes: Int) {
        if case .tuple(let elements) = message, elements.count == 2, case .reference(let reference) = elements[0] {
            if let caller = state.withLock({ $0.calls.removeValue(forKey: reference) }) {
                caller.resume(returning: elements[1])
                return
            }
            // The late reply to a call of ours that gave up (timed out or was cancelled): nobody reads it.
            if isOurs(reference) {
                countDrop(bytes)
                return
            }
        }
        // {io_request, From, ReplyAs, Request}: the RPC's output, since we are its group leader.
        if case .tuple(let elements) = message, elements.count == 4, elements[0] == "io_request",
            case .pid(let from) = elements[1]
        {
            let isOutput = elements[3].tupleElements?.first == "put_chars" || elements[3].tupleElements?.first == "requests"
            let answer: Term = isOutput ? "ok" : .tuple("error", "enotsup")
            send(control: sendControl(to: from), payload: .tuple("io_reply", elements[2], answer))
            return
        }
        switch unsolicited.admit(bytes) {
        case .held: emit(.message(message))
        case .dropped(let report): if let report { logDrops(report) }
        }
    }

    private func countDrop(_ bytes: Int) {
        if let report = unsolicited.dropped(bytes) { logDrops(report) }
    }

    /// Answers `net_adm:ping/1` from the node (a call to our net_kernel); other names do not exist here.
    private func answerRegisteredSend(to name: Term, _ message: Term, bytes: Int) {
        guard name == "net_kernel", case .tuple(let call) = message, call.count == 3, call[0] == "$gen_call",
            case .tuple(let from) = call[1], from.count == 2, case .pid(let caller) = from[0],
            call[2].tupleElements?.first == "is_auth"
        else {
            logger.trace("dropping a message to unregistered name \(name)")
            countDrop(bytes)
            return
        }
        send(control: sendControl(to: caller), payload: .tuple(from[1], "yes"))
    }

    private func processExited(_ process: Term, reference: Term, reason: Term) {
        guard case .reference(let reference) = reference else { return }
        let target = state.withLock { state -> Term? in
            if state.probes.remove(reference) != nil { return nil }
            return state.monitors.removeValue(forKey: reference)
        }
        guard target != nil else { return }
        emit(.processDown(ProcessDown(reference: reference, process: process, reason: reason)))
    }

    private func refuseMonitor(from watcher: Term, target: Term, reference: Term) {
        if peerFlags.contains(.exitPayload) {
            send(control: .tuple(28, target, watcher, reference), payload: "noproc")
        } else {
            send(control: .tuple(21, target, watcher, reference, "noproc"))
        }
    }

    private func refuseLink(from linker: Term, target: Term) {
        if peerFlags.contains(.exitPayload) {
            send(control: .tuple(24, target, linker), payload: "noproc")
        } else {
            send(control: .tuple(3, target, linker, "noproc"))
        }
    }

    /// Queues a reply built from terms the node sent us; ones that cannot be encoded are dropped.
    private func send(control: Term, payload: Term? = nil) {
        guard let packet = try? ControlMessage.packet(control: control, payload: payload) else { return }
        _ = enqueue(packet)
    }
}
