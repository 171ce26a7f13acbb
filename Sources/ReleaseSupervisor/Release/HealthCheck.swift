/// A function the daemon calls on the release node at an interval to ask whether it is healthy.
public struct HealthCheck: Sendable, Equatable {
    /// What to do once the check has failed `failuresBeforeAction` times in a row.
    public enum FailureAction: String, Sendable, Equatable, CaseIterable {
        /// Restart the release (counted against the restart policy).
        case restart
        /// Report the failure and leave the release alone.
        case none
    }

    /// The module, as `Elixir.ServiceApp.Health`.
    public var module: Atom
    /// The function, as `check`.
    public var function: Atom
    /// The arguments.
    public var arguments: [Term]
    /// Time between the end of one check and the start of the next.
    public var interval: Duration
    /// How long one call may take before it counts as a failure.
    public var timeout: Duration
    /// Consecutive failures (false result, error, timeout) before `onFailure` happens.
    public var failuresBeforeAction: Int
    /// What happens then.
    public var onFailure: FailureAction

    /// Creates a check; the defaults are those of the daemon's configuration.
    public init(
        module: Atom, function: Atom, arguments: [Term] = [], interval: Duration = .seconds(10),
        timeout: Duration = .seconds(5), failuresBeforeAction: Int = 3, onFailure: FailureAction = .restart
    ) {
        self.module = module
        self.function = function
        self.arguments = arguments
        self.interval = interval
        self.timeout = timeout
        self.failuresBeforeAction = failuresBeforeAction
        self.onFailure = onFailure
    }

    /// Whether a call's result means healthy: `ok`, `true` or `{ok, _}`. Anything else (`{error, _}`,
    /// `false`, other values) is a failure.
    public static func isHealthy(_ result: Term) -> Bool {
        switch result {
        case .atom(.ok), .atom(.true): return true
        case .tuple(let elements): return elements.count == 2 && elements[0] == .atom(.ok)
        default: return false
        }
    }
}
