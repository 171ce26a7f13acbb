/// How much the daemon may do to a release on a host.
public enum ControlMode: String, Sendable, Equatable, CaseIterable {
    /// Deploy, start, restart (by the restart policy and health check) and stop the release.
    case manage
    /// Connect and monitor, report every event, and never start, restart or stop anything: for a release
    /// that something else (systemd on the host, an operator) keeps running.
    case observe
    /// Connect to a release that is already installed, start it in place if it is not running and restart it
    /// by the restart policy, but never upload or replace a version.
    case connect
}
