/// What the daemon knows of one release it looks after: which release, where it lives on hosts, how to reach
/// it, and how to keep it running.
public struct ReleaseSpec: Sendable {
    /// The release name, as `service_app`: names the tarball, `bin/<name>` and, by default, the node.
    public var name: String
    /// The absolute directory on each host under which the release's versions are installed.
    public var basePath: String
    /// The node's cookie; never logged (it prints as `Cookie(redacted)`).
    public var cookie: Cookie
    /// How long a start may take, from `bin/<name> daemon` until the node is registered and answers.
    public var startTimeout: Duration
    /// How often, and after what waits, a failed release is restarted.
    public var restartPolicy: RestartPolicy
    /// The optional periodic health check.
    public var healthCheck: HealthCheck?
    /// Environment variables for the release's processes (passed in a file, never on a command line).
    public var environment: [String: String]
    /// How much the daemon may do to the release.
    public var controlMode: ControlMode

    /// Creates a specification; `validated()` checks it.
    public init(
        name: String, basePath: String, cookie: Cookie, startTimeout: Duration = .seconds(60),
        restartPolicy: RestartPolicy = RestartPolicy(), healthCheck: HealthCheck? = nil,
        environment: [String: String] = [:], controlMode: ControlMode = .manage
    ) {
        self.name = name
        self.basePath = basePath
        self.cookie = cookie
        self.startTimeout = startTimeout
        self.restartPolicy = restartPolicy
        self.healthCheck = healthCheck
        self.environment = environment
        self.controlMode = controlMode
    }

    /// The specification, once its settings are known to be usable.
    ///
    /// - Throws: `ConfigurationError` naming the release, the setting and what to do.
    public func validated() throws(ConfigurationError) -> ReleaseSpec {
        let subject = "release \(name)"
        guard ReleaseTarballName.isValidName(name) else {
            throw ConfigurationError(subject, setting: "name", "a release name is [a-z][a-z0-9_]*, as in mix.exs")
        }
        guard basePath.hasPrefix("/"), !basePath.split(separator: "/").contains("..") else {
            throw ConfigurationError(subject, setting: "base_path", "\(basePath) must be an absolute path without ..")
        }
        guard startTimeout > .zero else {
            throw ConfigurationError(subject, setting: "start_timeout", "must be longer than zero")
        }
        guard restartPolicy.maxRestarts >= 0, restartPolicy.window > .zero, restartPolicy.initialBackoff >= .zero,
            restartPolicy.maximumBackoff >= restartPolicy.initialBackoff, restartPolicy.multiplier >= 1,
            (0...1).contains(restartPolicy.jitter)
        else {
            throw ConfigurationError(
                subject, setting: "restart",
                "needs max_restarts ≥ 0, a window > 0, 0 ≤ initial backoff ≤ maximum backoff, multiplier ≥ 1 "
                    + "and jitter between 0 and 1")
        }
        if let check = healthCheck {
            guard check.interval > .zero, check.timeout > .zero, check.failuresBeforeAction >= 1 else {
                throw ConfigurationError(
                    subject, setting: "health_check", "needs an interval and timeout > 0 and failures ≥ 1")
            }
        }
        for (variable, value) in environment {
            guard Self.isEnvironmentName(variable), !value.utf8.contains(0) else {
                throw ConfigurationError(
                    subject, setting: "environment",
                    "\(variable) is not a usable variable: names are [A-Za-z_][A-Za-z0-9_]*, values have no NUL")
            }
        }
        return self
    }

    /// Whether `name` is a POSIX shell variable name.
    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(48...57).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 95
        }
    }
}
