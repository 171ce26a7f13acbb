/// What the daemon knows of one release on one host right now; `controlnode status` shows it.
public struct ReleaseState: Sendable, Equatable {
    /// Where the release is in its life.
    public enum Status: Sendable, Equatable, CustomStringConvertible {
        /// Not running (never started, stopped, or found absent).
        case notRunning
        /// Started; not yet registered and answering.
        case starting
        /// Registered, connected and monitored.
        case running
        /// Being stopped.
        case stopping
        /// Given up on, with the reason (restart budget spent, start timed out, …).
        case failed(reason: String)
        /// The host cannot be reached (SSH down or silent); what the release does is unknown.
        case unreachable(reason: String)

        /// The status as `status` prints it: `not_running`, `starting`, `running`, `stopping`, `failed`.
        public var description: String {
            switch self {
            case .notRunning: "not_running"
            case .starting: "starting"
            case .running: "running"
            case .stopping: "stopping"
            case .failed: "failed"
            case .unreachable: "unreachable"
            }
        }
    }

    /// The release name.
    public var release: String
    /// The host's name.
    public var host: String
    /// The version installed or running, when known.
    public var version: ReleaseVersion?
    /// Where it is.
    public var status: Status
    /// The node's name, once known from EPMD.
    public var nodeName: NodeName?
    /// The node's distribution port on the host, from EPMD.
    public var distributionPort: UInt16?
    /// The local port of the tunnel to the distribution port, when one listens.
    public var localTunnelPort: UInt16?
    /// The directory the running version is installed in on the host.
    public var releasePath: String?
    /// The release's OS process id on the host.
    public var osPid: Int32?
    /// When the current distribution connection came up.
    public var connectedSince: WallClockTime?
    /// Restarts the daemon has made since it started.
    public var restartCount: Int
    /// The last error, as one line for operators.
    public var lastError: String?
    /// The last health check's answer on the current connection: nil before the first one, or without a check.
    public var healthy: Bool?
    /// Health checks failed in a row on the current connection (0 once one passes).
    public var healthFailures: Int

    /// The state of a release not known to be running.
    public init(release: String, host: String) {
        self.release = release
        self.host = host
        status = .notRunning
        restartCount = 0
        healthFailures = 0
    }
}
