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

    /// Creates a specification; the configuration (`ControlNodeConfig`) validates what it is built from.
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
}
