@testable import ReleaseSupervisor

/// Parses the input as a known_hosts file and judges a key offered by a plain and a bracketed host
/// against it, so the pattern matching (wildcards, negation, hashed names) runs on what was parsed, and the
/// fingerprints a changed key is reported with are made. Only what the SSH layer calls is used.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKnownHosts(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let knownHosts = KnownHosts.parse(Array(UnsafeBufferPointer(start: data, count: size)))
    let key: [UInt8] = Array("ssh-ed25519-key-blob".utf8)
    for (host, port) in [("web1.example.com", UInt16(22)), ("10.0.0.7", UInt16(2222))] {
        if case .changed(let known) = knownHosts.verdict(host: host, port: port, keyType: "ssh-ed25519", key: key) {
            _ = known.map { KnownHosts.fingerprint($0.key) }
        }
        _ = knownHosts.knownKeyTypes(host: host, port: port)
    }
    return 0
}
