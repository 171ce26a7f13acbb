@testable import ReleaseSupervisor
import Testing

@Suite("the node's figures")
struct NodeStatsTests {
    static let fixed = NodeStats.Fixed(
        processesLimit: 262_144, atomsLimit: 1_048_576, portsLimit: 65_536, startTime: -576_460_120_000_000_000,
        perSecond: 1_000_000_000)

    /// `{value, {…}, []}` as `erl_eval:exprs/2` answers the interval's query.
    static func answer(memory: Term = [.tuple("total", 40_000_000), .tuple("atom", 500_000)]) -> Term {
        .tuple(
            "value",
            .tuple([.integer(75), .integer(12_000), .integer(9), memory, .integer(2), .integer(-576_460_000_000_000_000)]),
            [])
    }

    @Test("the limits and start time, asked once per connection, read from their answer")
    func fixedParses() throws {
        let answer: Term = .tuple(
            "value",
            .tuple([.integer(262_144), .integer(1_048_576), .integer(65_536), .integer(-576_460_120_000_000_000),
                .integer(1_000_000_000)]),
            [])
        #expect(NodeStats.Fixed(evaluated: answer) == Self.fixed)
        #expect(NodeStats.Fixed(evaluated: .tuple("value", .tuple(1, 2), [])) == nil)
    }

    @Test("each interval's answer gives the counts, the memory, the run queue and the uptime from the start time")
    func parses() throws {
        let stats = try #require(NodeStats(evaluated: Self.answer(), fixed: Self.fixed))
        #expect(stats.processes == 75 && stats.processesLimit == 262_144)
        #expect(stats.atoms == 12_000 && stats.atomsLimit == 1_048_576)
        #expect(stats.ports == 9 && stats.portsLimit == 65_536)
        #expect(stats.memory.map(\.kind) == ["total", "atom"] && stats.memory.map(\.bytes) == [40_000_000, 500_000])
        #expect(stats.runQueue == 2)
        #expect(stats.uptimeSeconds == 120)
    }

    @Test("an answer of another shape gives nothing", arguments: [
        Term.atom("ok"), .tuple("value", .tuple(1, 2), []), .tuple("error", "badarg", []),
        NodeStatsTests.answer(memory: [.tuple("total", "many")]), NodeStatsTests.answer(memory: "none"),
    ])
    func refuses(answer: Term) {
        #expect(NodeStats(evaluated: answer, fixed: Self.fixed) == nil)
    }

    @Test("each query is one erl_eval:exprs call on a tuple of remote calls, with no bindings", arguments: [
        (NodeStats.query, 6), (NodeStats.fixedQuery, 5),
    ])
    func query(arguments: [Term], calls expected: Int) throws {
        #expect(arguments.count == 2)
        #expect(arguments[1] == [])
        guard case .list(let expressions) = arguments[0], case .tuple(let tuple) = try #require(expressions.first),
            case .list(let calls) = tuple[2]
        else {
            Issue.record("unexpected query \(arguments)")
            return
        }
        #expect(tuple[0] == "tuple" && calls.count == expected)
        for call in calls {
            guard case .tuple(let parts) = call else { continue }
            #expect(parts[0] == "call")
        }
        // Small, since it travels every interval over SSH to every node.
        #expect(try TermEncoder().encode(.list(arguments)).count < 700)
    }
}
