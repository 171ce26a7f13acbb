@testable import ReleaseSupervisor
import Testing

@Suite("the node's figures")
struct NodeStatsTests {
    /// `{value, {…}, []}` as `erl_eval:exprs/2` answers the query.
    static func answer(memory: Term = [.tuple("total", 40_000_000), .tuple("atom", 500_000)]) -> Term {
        .tuple(
            "value",
            .tuple([
                .integer(75), .integer(262_144), .integer(12_000), .integer(1_048_576), .integer(9), .integer(65_536),
                memory, .integer(2), .integer(-576_460_000_000_000_000), .integer(-576_460_120_000_000_000),
                .integer(1_000_000_000),
            ]),
            [])
    }

    @Test("the answer of erl_eval gives every figure, the uptime from monotonic time and start time")
    func parses() throws {
        let stats = try #require(NodeStats(evaluated: Self.answer()))
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
        #expect(NodeStats(evaluated: answer) == nil)
    }

    @Test("the query is one erl_eval:exprs call on a tuple of eleven remote calls, with no bindings")
    func query() throws {
        #expect(NodeStats.query.count == 2)
        #expect(NodeStats.query[1] == [])
        guard case .list(let expressions) = NodeStats.query[0], case .tuple(let tuple) = try #require(expressions.first),
            case .list(let calls) = tuple[2]
        else {
            Issue.record("unexpected query \(NodeStats.query)")
            return
        }
        #expect(tuple[0] == "tuple" && calls.count == 11)
        for call in calls {
            guard case .tuple(let parts) = call else { continue }
            #expect(parts[0] == "call")
        }
    }
}
