/// What a running node says of itself for `controlnode_node_*`: its process, atom and port counts against their
/// limits, its memory by kind (`erlang:memory/0`), its run queue and its uptime.
public struct NodeStats: Sendable, Equatable {
    /// `erlang:system_info(process_count)` and `process_limit`.
    public var processes: Int
    public var processesLimit: Int
    /// `atom_count` and `atom_limit`.
    public var atoms: Int
    public var atomsLimit: Int
    /// `port_count` and `port_limit`.
    public var ports: Int
    public var portsLimit: Int
    /// `erlang:memory/0`: bytes by kind (`total`, `processes`, `atom`, `binary`, `code`, `ets`, ...).
    public var memory: [(kind: String, bytes: Int)]
    /// `erlang:statistics(total_run_queue_lengths)`.
    public var runQueue: Int
    /// Seconds since the node's runtime started.
    public var uptimeSeconds: Double

    public static func == (lhs: NodeStats, rhs: NodeStats) -> Bool {
        lhs.processes == rhs.processes && lhs.processesLimit == rhs.processesLimit && lhs.atoms == rhs.atoms
            && lhs.atomsLimit == rhs.atomsLimit && lhs.ports == rhs.ports && lhs.portsLimit == rhs.portsLimit
            && lhs.memory.map(\.kind) == rhs.memory.map(\.kind) && lhs.memory.map(\.bytes) == rhs.memory.map(\.bytes)
            && lhs.runQueue == rhs.runQueue && lhs.uptimeSeconds == rhs.uptimeSeconds
    }

    /// What does not change while a node runs: its limits, when its runtime started, and its time unit. Asked once
    /// per connection (`NodeStats.fixedQuery`), so that each interval's call carries only what moves.
    public struct Fixed: Sendable, Equatable {
        var processesLimit: Int
        var atomsLimit: Int
        var portsLimit: Int
        /// `erlang:system_info(start_time)`, in native units.
        var startTime: Int
        /// Native units per second.
        var perSecond: Int

        /// The figures in `erl_eval:exprs/2`'s answer to `fixedQuery`; nil when it is not that shape.
        init?(evaluated answer: Term) {
            guard let numbers = NodeStats.integers(in: answer, count: 5, skipping: []) else { return nil }
            (processesLimit, atomsLimit, portsLimit, startTime) = (numbers[0], numbers[1], numbers[2], numbers[3])
            perSecond = max(numbers[4], 1)
        }

        init(processesLimit: Int, atomsLimit: Int, portsLimit: Int, startTime: Int, perSecond: Int) {
            (self.processesLimit, self.atomsLimit, self.portsLimit) = (processesLimit, atomsLimit, portsLimit)
            (self.startTime, self.perSecond) = (startTime, max(perSecond, 1))
        }
    }

    /// The arguments of `erl_eval:exprs(Expressions, [])` for `Fixed`: the abstract form of a tuple of calls,
    /// evaluated by the node's own evaluator, so that one round trip (and no code loaded on the node) answers.
    static let fixedQuery = evaluating([
        call("system_info", [atom("process_limit")]), call("system_info", [atom("atom_limit")]),
        call("system_info", [atom("port_limit")]), call("system_info", [atom("start_time")]),
        call("convert_time_unit", [.tuple("integer", 0, 1), atom("second"), atom("native")]),
    ])

    /// The same for each interval: the counts, the memory, the run queue and the monotonic time.
    static let query = evaluating([
        call("system_info", [atom("process_count")]), call("system_info", [atom("atom_count")]),
        call("system_info", [atom("port_count")]), call("memory", []),
        call("statistics", [atom("total_run_queue_lengths")]), call("monotonic_time", []),
    ])

    private static func call(_ function: Atom, _ arguments: [Term]) -> Term {
        .tuple("call", 0, .tuple("remote", 0, atom("erlang"), atom(function)), .list(arguments))
    }

    private static func atom(_ name: Atom) -> Term { .tuple("atom", 0, .atom(name)) }

    private static func evaluating(_ calls: [Term]) -> [Term] {
        [.list([.tuple("tuple", 0, .list(calls))]), .list([])]
    }

    /// The figures in `erl_eval:exprs/2`'s answer to `query`, `{value, {…}, Bindings}`, with the node's `fixed`
    /// figures; nil when it is not that shape.
    init?(evaluated answer: Term, fixed: Fixed) {
        guard let numbers = Self.integers(in: answer, count: 6, skipping: [3]),
            case .tuple(let outer) = answer, case .tuple(let values) = outer[1], case .list(let pairs) = values[3]
        else { return nil }
        var memory: [(kind: String, bytes: Int)] = []
        for pair in pairs.prefix(32) {
            guard case .tuple(let entry) = pair, entry.count == 2, case .atom(let kind) = entry[0],
                case .integer(let bytes) = entry[1]
            else { return nil }
            memory.append((kind.name, bytes))
        }
        (processes, atoms, ports) = (numbers[0], numbers[1], numbers[2])
        (processesLimit, atomsLimit, portsLimit) = (fixed.processesLimit, fixed.atomsLimit, fixed.portsLimit)
        self.memory = memory
        runQueue = numbers[3]
        uptimeSeconds = Double(max(numbers[4] - fixed.startTime, 0)) / Double(fixed.perSecond)
    }

    /// The integers of `{value, {…}, _}` with `count` elements, leaving out those at `skipped` indices.
    fileprivate static func integers(in answer: Term, count: Int, skipping skipped: Set<Int>) -> [Int]? {
        guard case .tuple(let outer) = answer, outer.count == 3, outer[0] == "value",
            case .tuple(let values) = outer[1], values.count == count
        else { return nil }
        var numbers: [Int] = []
        for (index, value) in values.enumerated() where !skipped.contains(index) {
            guard case .integer(let number) = value else { return nil }
            numbers.append(number)
        }
        return numbers
    }
}
