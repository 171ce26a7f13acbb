/// An expression evaluated on a release's node, as `controlnode eval` asks: Elixir (`Code.eval_string`) or Erlang
/// (`erl_scan`, `erl_parse`, `erl_eval`), its value printed as the node would inspect it.
///
/// The operator's text is never spliced into code: it travels as a binary bound to `S` in a fixed wrapper, which
/// the node parses (`erl_scan:string`, `erl_parse:parse_exprs`) and evaluates with `erl_eval:exprs` and the bindings
/// `S`, `L` (the language) and `T` (the timeout in milliseconds). The wrapper evaluates `S` in a process of its own,
/// so an exception, an exit or a parse error comes back as text, and a timeout kills that process instead of leaving
/// it running on the node. The printed value and the error text are capped at `outputLimit` bytes on the node, and the
/// inspection itself is limited (Elixir `limit: 1000`, Erlang `chars_limit`).
public enum RemoteEvaluation {
    /// The language of an expression.
    public enum Language: String, Sendable {
        /// Elixir, evaluated by `Code.eval_string/3`.
        case elixir
        /// Erlang: scanned, parsed and evaluated by `erl_scan`, `erl_parse` and `erl_eval` (the final `.` optional).
        case erlang
    }

    /// How an evaluation ended.
    public enum Outcome: Sendable, Equatable {
        /// The value, inspected.
        case value(String)
        /// An exception, exit, throw or parse error, formatted by the node.
        case failure(String)
        /// The evaluation did not finish within the timeout; it was killed on the node.
        case timedOut
    }

    /// The most bytes of a printed value or error the node sends back.
    public static let outputLimit = 65536

    /// The wrapper, in Erlang. One expression (a fun applied at once), so that `erl_eval` hands back no bindings
    /// but the three it was given.
    static let wrapper = """
        (fun() ->
            Limit = \(outputLimit),
            Text = fun(Format, Args) ->
                unicode:characters_to_binary(io_lib:format(Format, Args, [{chars_limit, Limit}]))
            end,
            Cap = fun(Bytes) when byte_size(Bytes) > Limit ->
                        <<(binary:part(Bytes, 0, Limit))/binary, "\\n... (output truncated)">>;
                     (Other) -> Other
                  end,
            SyntaxError = fun(Where, Module, Reason) ->
                {error, Text("~ts (at ~w)", [Module:format_error(Reason), Where])}
            end,
            Run = fun(elixir) ->
                        {Value, _} = 'Elixir.Code':eval_string(S, [], [{file, <<"controlnode eval">>}]),
                        {ok, 'Elixir.Kernel':inspect(Value, [{limit, 1000}, {printable_limit, 8192}, {pretty, true}])};
                     (erlang) ->
                        case erl_scan:string(unicode:characters_to_list(S)) of
                            {ok, [], _} -> {error, <<"an empty expression">>};
                            {ok, Tokens, End} ->
                                Ended = case lists:last(Tokens) of
                                    {dot, _} -> Tokens;
                                    _ -> Tokens ++ [{dot, End}]
                                end,
                                case erl_parse:parse_exprs(Ended) of
                                    {ok, Exprs} ->
                                        {value, Value, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
                                        {ok, Text("~tp", [Value])};
                                    {error, {Where, Module, Reason}} -> SyntaxError(Where, Module, Reason)
                                end;
                            {error, {Where, Module, Reason}, _} -> SyntaxError(Where, Module, Reason)
                        end
                  end,
            Evaluator = [erl_eval, elixir, elixir_eval, 'Elixir.Code', 'Elixir.Module.ParallelChecker'],
            Protected = fun() ->
                try Run(L)
                catch Kind:Reason:Stack ->
                    % The frames of the evaluator (and of this wrapper) say nothing about the expression.
                    Own = [Frame || Frame <- Stack, not lists:member(element(1, Frame), Evaluator)],
                    case L of
                        elixir -> {error, 'Elixir.Exception':format(Kind, Reason, Own)};
                        erlang -> {error, Text("~ts", [erl_error:format_exception(Kind, Reason, Own)])}
                    end
                end
            end,
            {Pid, Ref} = spawn_monitor(fun() -> exit({controlnode_eval, Protected()}) end),
            receive
                {'DOWN', Ref, process, Pid, {controlnode_eval, {Tag, Out}}} -> {Tag, Cap(Out)};
                {'DOWN', Ref, process, Pid, Exit} -> {error, Cap(Text("the evaluation exited: ~tp", [Exit]))}
            after T ->
                exit(Pid, kill),
                erlang:demonitor(Ref, [flush]),
                {timeout, <<>>}
            end
        end)().
        """

    /// Evaluates `expression` on the node at the other end of `connection`.
    ///
    /// - Parameter timeout: how long the evaluation may take on the node; the RPC itself gives up 5 s later.
    /// - Throws: `DistributionError` when the node cannot be asked (down, the RPC timed out or failed).
    public static func evaluate(
        _ expression: String, language: Language, timeout: Duration, over connection: DistributionConnection
    ) async throws(DistributionError) -> Outcome {
        let scanned = try await connection.rpc("erl_scan", "string", [.charlist(wrapper)], timeout: .seconds(10))
        guard let tokens = scanned.tupleElements, tokens.count == 3, tokens[0] == "ok" else {
            throw DistributionError(
                .badRPC, node: connection.peer.description, "erl_scan:string/1 of the eval wrapper", reason: scanned)
        }
        let parsed = try await connection.rpc("erl_parse", "parse_exprs", [tokens[1]], timeout: .seconds(10))
        guard let exprs = parsed.tupleElements, exprs.count == 2, exprs[0] == "ok" else {
            throw DistributionError(
                .badRPC, node: connection.peer.description, "erl_parse:parse_exprs/1 of the eval wrapper", reason: parsed)
        }
        let milliseconds = max(1, Int(timeout / .milliseconds(1)))
        // An orddict, sorted by name.
        let bindings: Term = .list([
            .tuple("L", .atom(Atom(language.rawValue))), .tuple("S", .binary(expression)),
            .tuple("T", .integer(milliseconds)),
        ])
        let reply = try await connection.rpc(
            "erl_eval", "exprs", [exprs[1], bindings], timeout: timeout + .seconds(5))
        return outcome(of: reply)
    }

    /// The outcome `erl_eval:exprs/2` reported (`{value, {Tag, Text}, Bindings}`).
    static func outcome(of reply: Term) -> Outcome {
        guard let value = reply.tupleElements, value.count == 3, value[0] == "value",
            let result = value[1].tupleElements, result.count == 2
        else {
            return .failure("the node gave an unexpected answer: \(reply)")
        }
        let text = result[1].binaryValue.map { String(decoding: $0, as: UTF8.self) } ?? "\(result[1])"
        switch result[0] {
        case "ok": return .value(text)
        case "timeout": return .timedOut
        default: return .failure(text)
        }
    }
}
