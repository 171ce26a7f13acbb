import Crypto
import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("known_hosts parsing and matching")
struct KnownHostsTests {
    let key = Array("a host key blob".utf8)
    let other = Array("another key blob".utf8)

    @Test("plain names, the [host]:port form, wildcards and negation")
    func patterns() {
        let file = KnownHosts(contents: """
            # comment
            web1,192.0.2.10 ssh-ed25519 \(Base64.encode(key))
            [db.example]:2222 ssh-ed25519 \(Base64.encode(key))
            *.prod.example,!bad.prod.example ecdsa-sha2-nistp256 \(Base64.encode(key))
            """)
        #expect(file.verdict(host: "web1", port: 22, keyType: "ssh-ed25519", key: key) == .known)
        #expect(file.verdict(host: "192.0.2.10", port: 22, keyType: "ssh-ed25519", key: key) == .known)
        #expect(file.verdict(host: "web1", port: 2222, keyType: "ssh-ed25519", key: key) == .unknown)
        #expect(file.verdict(host: "db.example", port: 2222, keyType: "ssh-ed25519", key: key) == .known)
        #expect(file.verdict(host: "db.example", port: 22, keyType: "ssh-ed25519", key: key) == .unknown)
        #expect(file.verdict(host: "a.prod.example", port: 22, keyType: "ecdsa-sha2-nistp256", key: key) == .known)
        #expect(file.verdict(host: "bad.prod.example", port: 22, keyType: "ecdsa-sha2-nistp256", key: key) == .unknown)
        #expect(file.knownKeyTypes(host: "a.prod.example", port: 22) == ["ecdsa-sha2-nistp256"])
    }

    @Test("a different key for a known host is a change, naming the known fingerprint")
    func changed() {
        let file = KnownHosts(contents: "web1 ssh-ed25519 \(Base64.encode(key))\n")
        let verdict = file.verdict(host: "web1", port: 22, keyType: "ssh-ed25519", key: other)
        #expect(verdict == .changed(known: ["ssh-ed25519 \(KnownHosts.fingerprint(key))"]))
    }

    @Test("hashed entries (|1|salt|hmac) match their host only")
    func hashed() {
        let salt = Array("0123456789abcdefghij".utf8)
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Array("[10.0.0.5]:2200".utf8), using: SymmetricKey(data: salt))
        let file = KnownHosts(contents: "|1|\(Base64.encode(salt))|\(Base64.encode(Array(mac))) ssh-ed25519 \(Base64.encode(key))\n")
        #expect(file.verdict(host: "10.0.0.5", port: 2200, keyType: "ssh-ed25519", key: key) == .known)
        #expect(file.verdict(host: "10.0.0.6", port: 2200, keyType: "ssh-ed25519", key: key) == .unknown)
    }

    @Test("@revoked wins over a matching line; @cert-authority and junk lines are skipped")
    func markers() {
        let file = KnownHosts(contents: """
            @revoked * ssh-ed25519 \(Base64.encode(key))
            web1 ssh-ed25519 \(Base64.encode(key))
            @cert-authority *.example ssh-ed25519 \(Base64.encode(other))
            garbage
            web2 ssh-ed25519 !!!notbase64!!!
            """)
        #expect(file.verdict(host: "web1", port: 22, keyType: "ssh-ed25519", key: key) == .revoked)
        #expect(file.entries.count == 2)
    }

    @Test("fingerprints look like OpenSSH's: SHA256 and unpadded base64")
    func fingerprint() {
        let print = KnownHosts.fingerprint(key)
        #expect(print.hasPrefix("SHA256:"))
        #expect(print.count == 7 + 43)
        #expect(!print.hasSuffix("="))
    }

    @Test("base64 round trips every length")
    func base64() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.decode("a$bc") == nil)
    }
}
