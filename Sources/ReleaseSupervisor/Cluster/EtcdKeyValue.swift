/// The part of etcd's v3 API a cluster member uses: leases, and keys read and written under transactions.
/// The daemon implements it over etcd's JSON gateway; unit tests over a map in memory.
public protocol EtcdKeyValue: Sendable {
    /// Grants a lease of `ttl`; returns its id and the TTL etcd granted.
    func grantLease(ttl: Duration) async throws(EtcdError) -> (id: Int64, ttl: Duration)

    /// Renews `lease` once; returns the TTL it has again, or nil when etcd no longer has that lease.
    func keepAlive(lease: Int64) async throws(EtcdError) -> Duration?

    /// Ends `lease` and deletes every key under it.
    func revoke(lease: Int64) async throws(EtcdError)

    /// The entry at `key`, or nil.
    func get(_ key: String) async throws(EtcdError) -> EtcdEntry?

    /// Every entry whose key starts with `prefix`, in key order.
    func list(prefix: String) async throws(EtcdError) -> [EtcdEntry]

    /// Creates `key` with `value` under `lease` if no such key exists (a create-revision-0 transaction);
    /// returns the new entry, or the one that already holds the key.
    func create(_ key: String, value: String, lease: Int64) async throws(EtcdError) -> EtcdCreation

    /// Deletes `key` if it is still held under `lease`.
    func delete(_ key: String, heldBy lease: Int64) async throws(EtcdError)
}

/// One key and its value with the revisions and lease etcd reports.
public struct EtcdEntry: Sendable, Equatable {
    /// The key.
    public var key: String
    /// The value, as text.
    public var value: String
    /// The revision at which the key was created: the fencing token of a lock key.
    public var createRevision: Int64
    /// The revision of the key's last change.
    public var modRevision: Int64
    /// The lease the key lives under, 0 for none.
    public var lease: Int64

    /// An entry as etcd reports it.
    public init(key: String, value: String, createRevision: Int64, modRevision: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.lease = lease
    }
}

/// What a create-if-absent transaction did.
public enum EtcdCreation: Sendable, Equatable {
    /// The key was created.
    case created(EtcdEntry)
    /// Another entry holds the key.
    case held(EtcdEntry)
}

/// An etcd request that failed: on which endpoint, what failed, and what to do.
public struct EtcdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The endpoint last tried, such as `http://10.0.0.5:2379`, when one was.
    public var endpoint: String?
    /// What failed.
    public var problem: String

    /// An error about `endpoint`.
    public init(endpoint: String?, _ problem: String) {
        self.endpoint = endpoint
        self.problem = problem
    }

    /// `etcd at http://10.0.0.5:2379: problem`.
    public var description: String { endpoint.map { "etcd at \($0): \(problem)" } ?? "etcd: \(problem)" }
}
