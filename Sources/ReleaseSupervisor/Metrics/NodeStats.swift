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

    /// The arguments of the one call that asks for all of it, `erl_eval:exprs(Expressions, [])`: the abstract form of
    /// a tuple of the calls below, evaluated by the node's own evaluator, so that one round trip (and no code loaded
    /// on the node) answers every figure.
    static let query: [Term] = {
        func call(_ module: Atom, _ function: Atom, _ arguments: [Term]) -> Term {
            .tuple("call", 0, .tuple("remote", 0, .tuple("atom", 0, .atom(module)), .tuple("atom", 0, .atom(function))),
                .list(arguments))
        }
        func atom(_ name: Atom) -> Term { .tuple("atom", 0, .atom(name)) }
        let calls: [Term] = [
            call("erlang", "system_info", [atom("process_count")]),
            call("erlang", "system_info", [atom("process_limit")]),
            call("erlang", "system_info", [atom("atom_count")]),
            call("erlang", "system_info", [atom("atom_limit")]),
            call("erlang", "system_info", [atom("port_count")]),
            call("erlang", "system_info", [atom("port_limit")]),
            call("erlang", "memory", []),
            call("erlang", "statistics", [atom("total_run_queue_lengths")]),
            call("erlang", "monotonic_time", []),
            call("erlang", "system_info", [atom("start_time")]),
            call("erlang", "convert_time_unit", [.tuple("integer", 0, 1), atom("second"), atom("native")]),
        ]
        return [.list([.tuple("tuple", 0, .list(calls))]), .list([])]
    }()

    /// The figures in `erl_eval:exprs/2`'s answer, `{value, {…}, Bindings}`; nil when it is not that shape.
    init?(evaluated answer: Term) {
        guard case .tuple(let outer) = answer, outer.count == 3, outer[0] == "value",
            case .tuple(let values) = outer[1], values.count == 11
        else { return nil }
        var numbers: [Int] = []
        for index in [0, 1, 2, 3, 4, 5, 7, 8, 9, 10] {
            guard case .integer(let number) = values[index] else { return nil }
            numbers.append(number)
        }
        guard case .list(let pairs) = values[6] else { return nil }
        var memory: [(kind: String, bytes: Int)] = []
        for pair in pairs.prefix(32) {
            guard case .tuple(let entry) = pair, entry.count == 2, case .atom(let kind) = entry[0],
                case .integer(let bytes) = entry[1]
            else { return nil }
            memory.append((kind.name, bytes))
        }
        processes = numbers[0]
        processesLimit = numbers[1]
        atoms = numbers[2]
        atomsLimit = numbers[3]
        ports = numbers[4]
        portsLimit = numbers[5]
        self.memory = memory
        runQueue = numbers[6]
        let perSecond = max(numbers[9], 1)
        uptimeSeconds = Double(max(numbers[7] - numbers[8], 0)) / Double(perSecond)
    }
}
