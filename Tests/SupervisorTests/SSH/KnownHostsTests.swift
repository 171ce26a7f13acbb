import Crypto
import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("known_hosts parsing and matching")
struct KnownHostsTests {
    let key = Array("a host key blob".utf8)
    let other = Array("another key blob".utf8)

    /// The line number of the entry that makes the key known, or nil when the verdict is not `.known`.
    func knownLine(_ file: KnownHosts, _ host: String, _ port: UInt16 = 22, type: String = "ssh-ed25519",
        key: [UInt8]? = nil) -> Int?
    {
        guard case .known(let entry) = file.verdict(host: host, port: port, keyType: type, key: key ?? self.key)
        else { return nil }
        return entry.line
    }

    @Test("plain names, the [host]:port form, wildcards and negation")
    func patterns() {
        let file = KnownHosts.parse(Array("""
            # comment
            web1,192.0.2.10 ssh-ed25519 \(Base64.encode(key))
            [db.example]:2222 ssh-ed25519 \(Base64.encode(key))
            *.prod.example,!bad.prod.example ecdsa-sha2-nistp256 \(Base64.encode(key))
            """.utf8))
        #expect(knownLine(file, "web1") == 2)
        #expect(knownLine(file, "192.0.2.10") == 2)
        #expect(file.verdict(host: "web1", port: 2222, keyType: "ssh-ed25519", key: key) == .unknown)
        #expect(knownLine(file, "db.example", 2222) == 3)
        #expect(file.verdict(host: "db.example", port: 22, keyType: "ssh-ed25519", key: key) == .unknown)
        #expect(knownLine(file, "a.prod.example", type: "ecdsa-sha2-nistp256") == 4)
        #expect(file.verdict(host: "bad.prod.example", port: 22, keyType: "ecdsa-sha2-nistp256", key: key) == .unknown)
        #expect(file.knownKeyTypes(host: "a.prod.example", port: 22) == ["ecdsa-sha2-nistp256"])
    }

    @Test("a different key for a known host is a change, with the known line")
    func changed() {
        let file = KnownHosts.parse(Array("web1 ssh-ed25519 \(Base64.encode(key))\n".utf8))
        let verdict = file.verdict(host: "web1", port: 22, keyType: "ssh-ed25519", key: other)
        #expect(verdict == .changed(known: file.entries))
        #expect(file.entries.map(\.line) == [1])
    }

    @Test("CRLF line ends: every line is read, with its number (a Character split read none)")
    func crlf() {
        let text = "# pinned by hand on Windows\r\nweb1 ssh-ed25519 \(Base64.encode(key))\r\n"
            + "web2 ssh-ed25519 \(Base64.encode(other)) comment\r\n\r\n"
        let file = KnownHosts.parse(Array(text.utf8))
        #expect(file.entries.map(\.line) == [2, 3])
        #expect(knownLine(file, "web1") == 2)
        #expect(file.verdict(host: "web1", port: 22, keyType: "ssh-ed25519", key: other) == .changed(known: [file.entries[0]]))
        #expect(knownLine(file, "web2", key: other) == 3)
    }

    @Test("the last line needs no newline; blank lines count for line numbers only")
    func lineEnds() {
        let file = KnownHosts.parse(Array("\n\nweb1 ssh-ed25519 \(Base64.encode(key))\nweb2 ssh-ed25519 \(Base64.encode(other))".utf8))
        #expect(knownLine(file, "web1") == 3)
        #expect(knownLine(file, "web2", key: other) == 4)
        #expect(KnownHosts.parse([]).entries.isEmpty)
    }

    @Test("names are compared in lower case, in the file and in the lookup")
    func caseInsensitive() {
        let file = KnownHosts.parse(Array("Web1.Example,[DB.example]:2222 ssh-ed25519 \(Base64.encode(key))\n".utf8))
        #expect(knownLine(file, "WEB1.example") == 1)
        #expect(knownLine(file, "web1.example") == 1)
        #expect(knownLine(file, "db.EXAMPLE", 2222) == 1)
        #expect(KnownHosts.lookupName(host: "DB.Example", port: 2222) == "[db.example]:2222")
    }

    @Test("hashed entries (|1|salt|hmac) match their host only, the lowercased name hashed")
    func hashed() {
        let salt = Array("0123456789abcdefghij".utf8)
        func hashedLine(_ name: String) -> String {
            let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Array(name.utf8), using: SymmetricKey(data: salt))
            return "|1|\(Base64.encode(salt))|\(Base64.encode(Array(mac))) ssh-ed25519 \(Base64.encode(key))\n"
        }
        let file = KnownHosts.parse(Array((hashedLine("[10.0.0.5]:2200") + hashedLine("web1.example")).utf8))
        #expect(knownLine(file, "10.0.0.5", 2200) == 1)
        #expect(file.verdict(host: "10.0.0.6", port: 2200, keyType: "ssh-ed25519", key: key) == .unknown)
        #expect(knownLine(file, "WEB1.Example") == 2)
        // A salt OpenSSH would not write (not 20 bytes) makes the line unreadable, not a match for anything.
        let short = KnownHosts.parse(Array("|1|\(Base64.encode(Array(salt.prefix(8))))|AAAA ssh-ed25519 \(Base64.encode(key))".utf8))
        #expect(short.entries.isEmpty)
    }

    @Test("@revoked wins over a matching line; @cert-authority, unknown markers and junk lines are skipped")
    func markers() {
        let file = KnownHosts.parse(Array("""
            @revoked * ssh-ed25519 \(Base64.encode(key))
            web1 ssh-ed25519 \(Base64.encode(key))
            @cert-authority *.example ssh-ed25519 \(Base64.encode(other))
            @future-marker web3.example ssh-ed25519 \(Base64.encode(other))
            garbage
            web2 ssh-ed25519 !!!notbase64!!!
            |1|broken ssh-ed25519 \(Base64.encode(key))
            """.utf8))
        #expect(file.verdict(host: "web1", port: 22, keyType: "ssh-ed25519", key: key) == .revoked(file.entries[0]))
        #expect(file.entries.map(\.line) == [1, 2])
        // A CA key is not a host key: it neither vouches for the host nor counts as its pin.
        #expect(file.verdict(host: "web3.example", port: 22, keyType: "ssh-ed25519", key: other) == .unknown)
    }

    @Test("the line accept-new writes parses back, lowercased")
    func lineRoundTrip() {
        let line = KnownHosts.line(host: "Web1.Example", port: 2222, keyType: "ssh-ed25519", key: key)
        #expect(line == "[web1.example]:2222 ssh-ed25519 \(Base64.encode(key))\n")
        #expect(knownLine(KnownHosts.parse(Array(line.utf8)), "web1.example", 2222) == 1)
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
