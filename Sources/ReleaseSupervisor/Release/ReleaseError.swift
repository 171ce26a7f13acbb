/// A release operation that failed: which release, on which host, what failed and what to do.
public struct ReleaseError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// The release is not registered in the host's EPMD.
        case releaseNotRunning
        /// A release of that name already runs on the host (deploy without replace).
        case alreadyRunning
        /// The node did not register in EPMD within the start timeout.
        case startTimedOut
        /// A command on the host failed (extract, start, stop).
        case hostCommandFailed
        /// The host could not be reached or the SSH connection failed.
        case unreachable
        /// The distribution connection failed (cookie, handshake, RPC).
        case distributionFailed
        /// The version is not installed on the host, or no earlier version is there to roll back to.
        case versionMissing
        /// The release did not stop within its bound.
        case stopTimedOut
        /// The tarball is not in the registry.
        case notInRegistry
        /// Another request (a deploy) is in progress for this release on this host; try again when it ends.
        case busy
        /// The release is managed in observe or connect mode, so the daemon does not start, stop or deploy it.
        case notManaged
        /// This daemon may not act on the pair now: its cluster lease or leadership is not confirmed, so another
        /// member may own the pair (`[cluster]`).
        case fenced
    }

    /// The kind of failure.
    public let code: Code
    /// The release's name.
    public let release: String
    /// The host's name.
    public let host: String
    /// What failed and what to do.
    public let detail: String
    /// The error of the layer below, if any.
    public let underlyingError: (any Error & Sendable)?

    init(
        _ code: Code, release: String, host: String, _ detail: String, underlyingError: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.release = release
        self.host = host
        // The detail often carries a host's own output (stderr, a log's tail).
        self.detail = DisplayText.sanitized(detail)
        self.underlyingError = underlyingError
    }

    /// One line: release, host, what failed and why.
    public var description: String {
        let cause = underlyingError.map { ": \($0)" } ?? ""
        return "release \(release) on \(host): \(detail)\(cause)"
    }
}
