import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ReleaseSupervisor

/// etcd's v3 API through its JSON gateway (`POST /v3/...`, keys and values in base64, 64-bit numbers as
/// strings), over AsyncHTTPClient: TLS with a CA and client certificate, user and password, several endpoints
/// with failover. A request that fails to reach an endpoint is tried on the next one, each within the request
/// timeout, so a dead endpoint costs one timeout and then the client stays on the one that answered.
actor EtcdGateway: EtcdKeyValue {
    private let endpoints: [ClusterConfig.Endpoint]
    private let client: HTTPClient
    private let group: MultiThreadedEventLoopGroup
    private let timeout: Duration
    private let credentials: (user: String, password: String)?
    private var preferred = 0
    private var token: String?

    /// A client of `config`'s endpoints, reading its password and TLS files now (errors name them).
    init(config: ClusterConfig, timeout: Duration) throws(EtcdError) {
        endpoints = config.endpoints
        self.timeout = timeout
        if let user = config.user, let file = config.passwordFile {
            guard let data = FileManager.default.contents(atPath: file), data.count <= 4096 else {
                throw EtcdError(
                    endpoint: nil, "cannot read cluster.password_file \(file) (or it is over 4 KiB); check the path and its owner")
            }
            credentials = (user, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines))
        } else {
            credentials = nil
        }
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000),
            read: nil)
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 2)
        configuration.httpVersion = .http1Only
        if config.endpoints.first?.tls == true {
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                if let ca = config.caFile { tls.trustRoots = .file(ca) }
                if let cert = config.certFile, let key = config.keyFile {
                    tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                    tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                }
            } catch {
                throw EtcdError(endpoint: nil, "cannot load the cluster's TLS files (ca_file, cert_file, key_file): \(error)")
            }
            configuration.tlsConfiguration = tls
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
    }

    /// Closes the connections and the event loop.
    func close() async {
        try? await client.shutdown()
        try? await group.shutdownGracefully()
    }

    // MARK: EtcdKeyValue

    func grantLease(ttl: Duration) async throws(EtcdError) -> (id: Int64, ttl: Duration) {
        let reply = try await call("/v3/lease/grant", ["TTL": max(1, ttl.components.seconds)])
        guard let id = Self.int64(reply["ID"]), let granted = Self.int64(reply["TTL"]), granted > 0 else {
            throw EtcdError(endpoint: currentEndpoint, "lease grant answered without an ID and TTL")
        }
        return (id, .seconds(granted))
    }

    func keepAlive(lease: Int64) async throws(EtcdError) -> Duration? {
        let reply = try await call("/v3/lease/keepalive", ["ID": "\(lease)"])
        // The gateway wraps each streamed reply in "result"; a lease etcd no longer has comes back without a TTL.
        let result = reply["result"] as? [String: Any] ?? reply
        guard let ttl = Self.int64(result["TTL"]), ttl > 0 else { return nil }
        return .seconds(ttl)
    }

    func revoke(lease: Int64) async throws(EtcdError) {
        do {
            _ = try await call("/v3/lease/revoke", ["ID": "\(lease)"])
        } catch let error where error.problem.contains("lease not found") {
            return
        }
    }

    func get(_ key: String) async throws(EtcdError) -> EtcdEntry? {
        let reply = try await call("/v3/kv/range", ["key": Self.base64(key)])
        return try Self.entries(reply, from: currentEndpoint).first
    }

    func list(prefix: String) async throws(EtcdError) -> [EtcdEntry] {
        let reply = try await call(
            "/v3/kv/range", ["key": Self.base64(prefix), "range_end": Self.base64(Self.rangeEnd(of: prefix))])
        return try Self.entries(reply, from: currentEndpoint)
    }

    func create(_ key: String, value: String, lease: Int64) async throws(EtcdError) -> EtcdCreation {
        let encoded = Self.base64(key)
        let reply = try await call(
            "/v3/kv/txn",
            [
                "compare": [["key": encoded, "result": "EQUAL", "target": "CREATE", "create_revision": "0"]],
                "success": [["request_put": ["key": encoded, "value": Self.base64(value), "lease": "\(lease)"]]],
                "failure": [["request_range": ["key": encoded]]],
            ])
        let header = reply["header"] as? [String: Any]
        if reply["succeeded"] as? Bool == true {
            guard let revision = Self.int64(header?["revision"]) else {
                throw EtcdError(endpoint: currentEndpoint, "a transaction answered without a revision")
            }
            return .created(EtcdEntry(key: key, value: value, createRevision: revision, modRevision: revision, lease: lease))
        }
        let responses = reply["responses"] as? [[String: Any]] ?? []
        let range = responses.first?["response_range"] as? [String: Any] ?? [:]
        guard let entry = try Self.entries(range, from: currentEndpoint).first else {
            // Deleted between the compare and the read: nobody holds it, and the next attempt may create it.
            throw EtcdError(endpoint: currentEndpoint, "\(key) changed during the transaction; try again")
        }
        return .held(entry)
    }

    func delete(_ key: String, heldBy lease: Int64) async throws(EtcdError) {
        let encoded = Self.base64(key)
        _ = try await call(
            "/v3/kv/txn",
            [
                "compare": [["key": encoded, "result": "EQUAL", "target": "LEASE", "lease": "\(lease)"]],
                "success": [["request_delete_range": ["key": encoded]]],
            ])
    }

    // MARK: Requests

    private var currentEndpoint: String { "\(endpoints[preferred])" }

    /// POSTs `body` to `path` on the preferred endpoint, then on each other one in turn while an endpoint
    /// cannot be reached; authenticates first when a user is configured, and again when the token has expired.
    private func call(_ path: String, _ body: [String: Any]) async throws(EtcdError) -> [String: Any] {
        var lastError = EtcdError(endpoint: nil, "no endpoint")
        for attempt in 0..<endpoints.count {
            let index = (preferred + attempt) % endpoints.count
            do {
                let reply = try await authenticatedPost(path, body, at: index)
                preferred = index
                return reply
            } catch {
                switch error {
                case .unreachable(let failure): lastError = failure
                case .refused(let failure): throw failure
                }
            }
        }
        throw lastError
    }

    /// One request to one endpoint, with a token when a user is configured (taken anew once if it expired).
    private func authenticatedPost(_ path: String, _ body: [String: Any], at index: Int)
        async throws(GatewayFailure) -> [String: Any]
    {
        guard credentials != nil else { return try await post(path, body, at: index, token: nil) }
        if token == nil { token = try await authenticate(at: index) }
        do {
            return try await post(path, body, at: index, token: token)
        } catch {
            guard case .refused(let failure) = error, failure.problem.contains("invalid auth token") else { throw error }
            token = try await authenticate(at: index)
            return try await post(path, body, at: index, token: token)
        }
    }

    private func authenticate(at index: Int) async throws(GatewayFailure) -> String {
        guard let credentials else { return "" }
        let reply = try await post(
            "/v3/auth/authenticate", ["name": credentials.user, "password": credentials.password], at: index, token: nil)
        guard let token = reply["token"] as? String else {
            throw .refused(EtcdError(endpoint: "\(endpoints[index])", "authentication answered without a token"))
        }
        return token
    }

    /// Why one request failed: the endpoint could not be reached (try another) or it answered with an error.
    private enum GatewayFailure: Error {
        case unreachable(EtcdError)
        case refused(EtcdError)
    }

    private func post(_ path: String, _ body: [String: Any], at index: Int, token: String?)
        async throws(GatewayFailure) -> [String: Any]
    {
        let endpoint = "\(endpoints[index])"
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: token) }
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: body)
        } catch {
            throw .refused(EtcdError(endpoint: endpoint, "cannot encode the request: \(error)"))
        }
        request.body = .bytes(ByteBuffer(bytes: data))
        let status: HTTPResponseStatus
        let bytes: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
            status = response.status
            bytes = try await response.body.collect(upTo: 4 << 20)
        } catch {
            throw .unreachable(EtcdError(endpoint: endpoint, "\(path) failed: \(error)"))
        }
        // A bidirectional stream (keepalive) may carry several replies, one per line: the first one answers.
        let text = String(buffer: bytes)
        let first = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard let object = try? JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any] else {
            throw .unreachable(EtcdError(endpoint: endpoint, "\(path) answered HTTP \(status.code) with no JSON object"))
        }
        // A streamed reply reports its error as an object.
        if let failure = object["error"] as? [String: Any] {
            throw .refused(EtcdError(endpoint: endpoint, "\(path): \(failure["message"] as? String ?? "an error")"))
        }
        guard status == .ok, object["error"] == nil else {
            let message = object["message"] as? String ?? object["error"] as? String ?? "HTTP \(status.code)"
            // Unavailable (14) and a leader election in progress are the endpoint's trouble, not the request's.
            let code = object["code"] as? Int
            if code == 14 || status.code >= 500 && message.contains("leader") {
                throw .unreachable(EtcdError(endpoint: endpoint, "\(path): \(message)"))
            }
            throw .refused(EtcdError(endpoint: endpoint, "\(path): \(message)"))
        }
        return object
    }

    // MARK: Encoding

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    private static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    private static func text(base64 value: Any?) -> String {
        guard let encoded = value as? String, let data = Data(base64Encoded: encoded) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func int64(_ value: Any?) -> Int64? {
        switch value {
        case let text as String: Int64(text)
        case let number as Int: Int64(number)
        case let number as Int64: number
        default: nil
        }
    }

    /// The range end that covers every key starting with `prefix`: the prefix with its last byte plus one.
    static func rangeEnd(of prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.removeLast()
        }
        return "\0"
    }

    private static func entries(_ reply: [String: Any], from endpoint: String) throws(EtcdError) -> [EtcdEntry] {
        let kvs = reply["kvs"] as? [[String: Any]] ?? []
        return kvs.map { kv in
            EtcdEntry(
                key: text(base64: kv["key"]), value: text(base64: kv["value"]),
                createRevision: int64(kv["create_revision"]) ?? 0, modRevision: int64(kv["mod_revision"]) ?? 0,
                lease: int64(kv["lease"]) ?? 0)
        }
    }
}
