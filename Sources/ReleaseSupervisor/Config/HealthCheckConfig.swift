/// A literal argument of the health check function: what TOML can express for an Erlang term here.
public enum HealthCheckArgument: Sendable, Equatable {
    /// A string (passed as an Elixir string, i.e. a binary).
    case string(String)
    /// An integer.
    case integer(Int)
    /// A boolean.
    case boolean(Bool)
}

/// The `health_check` of a release: an RPC `module:function(args)` that must return `:ok`/`true`.
public struct HealthCheckConfig: Sendable, Equatable {
    /// The module, such as `Elixir.ServiceApp.Health`.
    public var module: String
    /// The function name.
    public var function: String
    /// The arguments.
    public var arguments: [HealthCheckArgument] = []
    /// Time between checks.
    public var interval: Duration = .seconds(5)
    /// How long one check may take.
    public var timeout: Duration = .seconds(2)
    /// Consecutive failures before `onFailure`.
    public var failures = 3
    /// What to do then.
    public var onFailure: HealthCheck.FailureAction = .restart

    /// A check of `module:function()` with default timing.
    public init(module: String, function: String) {
        self.module = module
        self.function = function
    }

    static let keys = ["module", "function", "args", "interval", "timeout", "failures", "on_failure"]

    init(reading reader: TableReader) throws(ConfigError) {
        module = try reader.requiredString("module", example: "\"Elixir.ServiceApp.Health\"")
        function = try reader.requiredString("function", example: "\"check\"")
        for element in try reader.array("args", example: "[]") ?? [] {
            switch element.kind {
            case .string(let text): arguments.append(.string(text))
            case .integer(let number): arguments.append(.integer(number))
            case .boolean(let flag): arguments.append(.boolean(flag))
            case .array, .table:
                throw reader.error(
                    .wrongType, "args", "arguments may be strings, integers or booleans, found \(element.typeName)")
            }
        }
        interval = try reader.duration("interval", example: "5s", maximum: .seconds(3600)) ?? interval
        timeout = try reader.duration("timeout", example: "2s", maximum: .seconds(600)) ?? timeout
        guard timeout <= interval else {
            throw reader.error(
                .invalidValue, "timeout",
                "\(ConfigDuration.render(timeout)) is longer than the interval (\(ConfigDuration.render(interval)))",
                remedy: "make timeout at most the interval")
        }
        failures = try reader.integer("failures", in: 1...1000, example: "3") ?? failures
        onFailure = try reader.choice("on_failure", HealthCheck.FailureAction.self) ?? onFailure
    }
}
