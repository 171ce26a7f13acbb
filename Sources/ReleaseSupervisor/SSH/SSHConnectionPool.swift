public import Logging

/// One live SSH connection per host, shared by everything that talks to that host.
///
/// A caller asks for the connection to a host; it gets the open one, or the one being made (concurrent
/// callers share a single attempt), or a new one when the last has ended.
public actor SSHConnectionPool {
    private enum Entry {
        case connecting(Task<SSHConnection, any Error>)
        case open(SSHConnection)
    }

    private var entries: [SSHSettings: Entry] = [:]
    /// Why a host's last connection was lost, until a new one is open.
    private var losses: [SSHSettings: SSHError] = [:]
    /// The name each host goes by in the configuration, for metrics; its address when none was given.
    private var names: [SSHSettings: String] = [:]
    private var metrics = ConnectionMetrics()
    private let logger: Logger

    /// Creates an empty pool whose connections log through `logger`.
    public init(logger: Logger) {
        self.logger = logger
    }

    /// The open connection for `settings`, connecting when there is none; `name` is the host's name in the
    /// configuration, which its metrics carry.
    ///
    /// - Throws: the `SSHError` of the connection attempt.
    public func connection(for settings: SSHSettings, named name: String? = nil) async throws(SSHError) -> SSHConnection {
        if let name, names[settings] == nil { names[settings] = name }
        switch entries[settings] {
        case .open(let connection) where connection.endReason == nil:
            return connection
        case .connecting(let attempt):
            return try await Self.outcome(of: attempt, settings)
        case .open(let connection):
            if let reason = connection.endReason, reason.code == .connectionLost { losses[settings] = reason }
            metrics.recordReconnect()
            return try await connect(settings)
        case nil:
            return try await connect(settings)
        }
    }

    private func connect(_ settings: SSHSettings) async throws(SSHError) -> SSHConnection {
        let logger = self.logger
        let attempt = Task { try await SSHConnection.connect(settings, logger: logger) }
        entries[settings] = .connecting(attempt)
        metrics.record(.connecting, host: name(of: settings))
        do {
            let connection = try await Self.outcome(of: attempt, settings)
            entries[settings] = .open(connection)
            losses[settings] = nil
            metrics.record(.connected, host: name(of: settings))
            watch(connection, settings)
            return connection
        } catch {
            entries[settings] = nil
            metrics.record(.disconnected, host: name(of: settings))
            throw error
        }
    }

    private func name(of settings: SSHSettings) -> String { names[settings] ?? settings.address }

    /// Marks the host disconnected once this connection ends, unless another has replaced it by then. The task lives
    /// as long as the connection: closing it (`close`, `closeAll`) ends the wait.
    private func watch(_ connection: SSHConnection, _ settings: SSHSettings) {
        Task { [weak self] in
            _ = await connection.ended()
            await self?.ended(connection, settings)
        }
    }

    private func ended(_ connection: SSHConnection, _ settings: SSHSettings) {
        guard case .open(let current) = entries[settings], current === connection else { return }
        metrics.record(.disconnected, host: name(of: settings))
    }

    /// Why the last connection for `settings` was lost (it went silent, or the server or network ended it), while
    /// no newer one is open: a new attempt may be under way. Nil when one is open, or the last was closed by its
    /// owner.
    public func loss(for settings: SSHSettings) -> SSHError? {
        if case .open(let connection) = entries[settings] {
            guard let reason = connection.endReason else { return nil }
            return reason.code == .connectionLost ? reason : losses[settings]
        }
        return losses[settings]
    }

    /// Closes and forgets the connection for `settings`, if any (a host removed from the configuration).
    public func close(_ settings: SSHSettings) async {
        losses[settings] = nil
        metrics.forget(host: name(of: settings))
        names[settings] = nil
        guard let entry = entries.removeValue(forKey: settings) else { return }
        if case .open(let connection) = entry { await connection.close() }
    }

    /// Closes every connection.
    public func closeAll() async {
        let all = entries
        entries.removeAll()
        losses.removeAll()
        for settings in all.keys { metrics.forget(host: name(of: settings)) }
        for entry in all.values {
            if case .open(let connection) = entry { await connection.close() }
        }
    }

    private static func outcome(of attempt: Task<SSHConnection, any Error>, _ settings: SSHSettings)
        async throws(SSHError) -> SSHConnection
    {
        do {
            return try await attempt.value
        } catch let error as SSHError {
            throw error
        } catch {
            throw SSHError(.connectFailed, host: settings.endpoint, detail: "the connection attempt was cancelled: \(error)")
        }
    }
}
