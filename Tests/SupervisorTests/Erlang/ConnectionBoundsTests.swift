import Testing

@testable import ReleaseSupervisor

/// The two accounts that bound a connection's memory, on their own: the outgoing queue and the budget of
/// unsolicited messages.
@Suite("Distribution connection bounds")
struct ConnectionBoundsTests {
    /// A stream that is never read or written here: the queue only asks whether it writes immediately.
    struct IdleStream: ByteStream {
        func read(upTo maxLength: Int) async throws -> [UInt8] { [] }
        func write(_ bytes: [UInt8]) async throws {}
        func close() async {}
    }

    static func outcome(_ submission: PacketQueue.Submission) -> String {
        switch submission {
        case .written: "written"
        case .queued: "queued"
        case .closed: "closed"
        case .failed(let error): "failed \(error)"
        case .overflowed(let queued): "overflowed \(queued)"
        }
    }

    static func packet(_ count: Int) -> [UInt8] { [UInt8](repeating: 1, count: count) }

    @Test("the outgoing queue refuses what would pass its limit, counting the batch being written")
    func outgoingLimit() async throws {
        let queue = PacketQueue(stream: IdleStream(), limit: 1000)
        #expect(Self.outcome(queue.submit(Self.packet(600))) == "queued")
        #expect(Self.outcome(queue.submit(Self.packet(300))) == "queued")
        #expect(Self.outcome(queue.submit(Self.packet(200))) == "overflowed 900")
        let batch = try #require(await queue.nextBatch())
        #expect(batch.map(\.count) == [600, 300])
        // Taken by the writer, the batch still holds its memory until the writer asks for the next one.
        #expect(queue.queuedBytes == 900)
        #expect(Self.outcome(queue.submit(Self.packet(200))) == "overflowed 900")
        #expect(Self.outcome(queue.submit(Self.packet(100))) == "queued")
        #expect(try #require(await queue.nextBatch()).map(\.count) == [100])
        #expect(queue.queuedBytes == 100)
        #expect(Self.outcome(queue.submit(Self.packet(900))) == "queued")
        queue.close()
        #expect(Self.outcome(queue.submit(Self.packet(1))) == "closed")
    }

    @Test("one packet larger than the limit is taken when nothing else waits")
    func largePacketAlone() async throws {
        let queue = PacketQueue(stream: IdleStream(), limit: 1000)
        #expect(Self.outcome(queue.submit(Self.packet(5000))) == "queued")
        #expect(Self.outcome(queue.submit(Self.packet(1))) == "overflowed 5000")
    }

    @Test("unsolicited messages are held within the budget, released oldest first, and drops reported sparingly")
    func messageAccount() {
        let minute = Int64(60_000_000_000)
        let messages = UnsolicitedMessages(limit: 100)
        #expect(messages.admit(60, now: 0) == .held)
        #expect(messages.admit(50, now: 0) == .dropped(report: .init(isFirst: true, messages: 1, bytes: 50)))
        #expect(messages.admit(40, now: 1) == .held)
        #expect(messages.heldBytes == 100)
        #expect(messages.dropped(10, now: minute / 2) == nil, "reported at most once a minute")
        messages.release()
        #expect(messages.heldBytes == 40, "the oldest message, of 60 bytes, was taken")
        #expect(messages.admit(60, now: minute / 2) == .held)
        #expect(messages.dropped(5, now: minute + 1) == .init(isFirst: false, messages: 2, bytes: 15))
        #expect(messages.finalReport() == nil)
        #expect(messages.dropped(1, now: minute + 2) == nil)
        #expect(messages.finalReport() == .init(isFirst: false, messages: 1, bytes: 1))
        #expect(messages.drops.messages == 4 && messages.drops.bytes == 66)
        messages.release()
        messages.release()
        messages.release()  // More releases than messages held change nothing.
        #expect(messages.heldBytes == 0)

        let none = UnsolicitedMessages(limit: 0)
        #expect(none.admit(1, now: 0) == .dropped(report: .init(isFirst: true, messages: 1, bytes: 1)))
    }
}
