import ReleaseSupervisor
import Testing

@Suite("Following run_erl logs across rotation, without a host")
struct LogFollowerTests {
    private func reply(_ newest: String?, _ newestSize: Int, _ fileSize: Int, _ text: String) -> LogPollReply {
        LogPollReply(newest: newest, newestSize: newestSize, fileSize: fileSize, bytes: Array(text.utf8))
    }

    @Test("The first look shows the tail, then follows the newest file from the size measured")
    func tailThenFollow() {
        var follower = LogFollower(lines: 2)
        #expect(follower.nextPoll == .tail(lines: 2, limit: LogFollower.tailLimit))
        #expect(follower.take(reply("erlang.log.1", 30, 30, "b\r\nc\n")) == ["b", "c"])
        #expect(follower.nextPoll == .read(file: "erlang.log.1", offset: 30, limit: LogFollower.pollLimit))
        #expect(follower.take(reply("erlang.log.1", 38, 38, "d\npart")) == ["d"])
        #expect(follower.position?.offset == 36)
        #expect(follower.take(reply("erlang.log.1", 42, 42, "ial\n")) == ["partial"])
        #expect(follower.take(reply("erlang.log.1", 42, 42, "")) == [])
        #expect(follower.position?.offset == 40)
    }

    @Test("On rotation the rest of the old file is read, then the new one from its start")
    func rotation() {
        var follower = LogFollower(lines: 0)
        _ = follower.take(reply("erlang.log.1", 100, 100, ""))
        // run_erl moved on to erlang.log.2; erlang.log.1 got 4 more bytes first, the last line unfinished.
        #expect(follower.take(reply("erlang.log.2", 4, 104, "x\nyz")) == ["x", "yz"])
        #expect(follower.nextPoll == .read(file: "erlang.log.2", offset: 0, limit: LogFollower.pollLimit))
        #expect(follower.take(reply("erlang.log.2", 4, 4, "new\n")) == ["new"])
        // Wrapping back to erlang.log.1, which run_erl truncated: read from its start.
        _ = follower.take(reply("erlang.log.1", 3, 4, ""))
        #expect(follower.nextPoll == .read(file: "erlang.log.1", offset: 0, limit: LogFollower.pollLimit))
        #expect(follower.take(reply("erlang.log.1", 3, 3, "ab\n")) == ["ab"])
    }

    @Test("An old file with more than a poll's worth left is read to its end before moving on")
    func boundedPolls() {
        var follower = LogFollower(lines: 0)
        _ = follower.take(reply("erlang.log.1", 0, 0, ""))
        let chunk = String(repeating: "a", count: LogFollower.pollLimit - 1) + "\n"
        #expect(follower.take(reply("erlang.log.2", 0, LogFollower.pollLimit + 3, chunk)).count == 1)
        #expect(follower.nextPoll == .read(file: "erlang.log.1", offset: LogFollower.pollLimit, limit: LogFollower.pollLimit))
        #expect(follower.take(reply("erlang.log.2", 0, LogFollower.pollLimit + 3, "end")) == ["end"])
        #expect(follower.position?.file == "erlang.log.2")
    }

    @Test("A shrunk or vanished file restarts at the newest; no log yet waits, then reads the first one whole")
    func truncatedAndMissing() {
        var follower = LogFollower(lines: 5)
        #expect(follower.take(reply(nil, 0, -1, "")) == [])
        #expect(follower.nextPoll == .tail(lines: 0, limit: LogFollower.tailLimit))
        #expect(follower.take(reply("erlang.log.1", 10, 10, "")) == [])
        #expect(follower.nextPoll == .read(file: "erlang.log.1", offset: 0, limit: LogFollower.pollLimit))
        #expect(follower.take(reply("erlang.log.1", 10, 10, "0123456789")) == [])
        #expect(follower.take(reply("erlang.log.3", 2, -1, "")) == ["0123456789"])
        #expect(follower.position?.file == "erlang.log.3")
    }

    @Test("Lines longer than the limit come in pieces; a reply is parsed only with a well-formed header")
    func limitsAndParsing() {
        var follower = LogFollower(lines: 1)
        let long = String(repeating: "x", count: LogFollower.lineLimit * 2 + 5)
        let lines = follower.take(reply("erlang.log.1", long.utf8.count, long.utf8.count, long))
        #expect(lines.map(\.count) == [LogFollower.lineLimit, LogFollower.lineLimit, 5])
        #expect(LogFollower(lines: 50_000).nextPoll == .tail(lines: LogFollower.maximumLines, limit: LogFollower.tailLimit))

        let parsed = LogPollReply(output: Array("controlnode-log erlang.log.4 12 -1\nab".utf8))
        #expect(parsed == reply("erlang.log.4", 12, -1, "ab"))
        #expect(LogPollReply(output: Array("controlnode-log - 0 -1\n".utf8))?.newest == nil)
        for bad in [
            "controlnode-log ../../etc/passwd 1 1\n", "controlnode-log erlang.log.1 x 1\n", "hello\n",
            "controlnode-log erlang.log.1 1 1", "controlnode-log erlang.log. 1 1\n",
        ] {
            #expect(LogPollReply(output: Array(bad.utf8)) == nil, "\(bad)")
        }
    }
}
