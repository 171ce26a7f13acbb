import Synchronization

/// What `initializeState` holds open to a running release: its distribution connection (monitored) and,
/// when asked for, a local tunnel to its distribution port. `terminateState` closes both; the release runs on.
public final class ReleaseLink: Sendable {
    /// The hidden-node connection to the release's node; its `events` end with one `nodedown`.
    public let connection: DistributionConnection
    /// The local forward to the node's distribution port, when one was set up.
    public let tunnel: LocalForward?
    private let runner: Locked<Task<Void, Never>?>

    init(connection: DistributionConnection, tunnel: LocalForward?) {
        self.connection = connection
        self.tunnel = tunnel
        runner = Locked(nil)
    }

    /// Starts carrying the connection; `onDown` gets the reason once, when the node goes down or the link
    /// closes. The link owns this task: `close()` (or the node going down) ends it.
    func start(onDown: @escaping @Sendable (NodeDownReason) -> Void) {
        let connection = self.connection
        runner.withLock { runner in
            guard runner == nil else { return }
            runner = Task {
                await connection.run()
                onDown(connection.downReason ?? .closedLocally)
            }
        }
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
