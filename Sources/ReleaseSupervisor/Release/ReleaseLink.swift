import Synchronization

/// What `initializeState` holds open to a running release: its distribution connection (monitored) and,
/// when asked for, a local tunnel to its distribution port. `terminateState` closes both; the release runs on.
public final class ReleaseLink: Sendable {
    /// The hidden-node connection to the release's node; its `events` end with one `nodedown`.
    public let connection: DistributionConnection
    /// The local forward to the node's distribution port, when one was set up.
    public let tunnel: LocalForward?
    private let runner: Mutex<Task<Void, Never>?>

    init(connection: DistributionConnection, tunnel: LocalForward?) {
        self.connection = connection
        self.tunnel = tunnel
        // The link owns the task that carries the connection; `close()` (or the node going down) ends it.
        runner = Mutex(Task { await connection.run() })
    }

    /// Closes the distribution connection and the tunnel, and waits for the connection's task to end.
    public func close() async {
        tunnel?.close()
        await connection.close()
        let task = runner.withLock { $0 }
        task?.cancel()
        await task?.value
    }
}
