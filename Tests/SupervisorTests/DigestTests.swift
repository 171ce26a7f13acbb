import Crypto
import Testing

@testable import ReleaseSupervisor

@Suite("Digests: SHA-256, SHA-1/HMAC and MD5 against published vectors and swift-crypto")
struct DigestTests {
    @Test("published test vectors")
    func vectors() {
        #expect(Hex.encode(SHA256Hasher.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256Hasher.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var md5 = MD5Hasher()
        #expect(Hex.encode(md5.finalize()) == "d41d8cd98f00b204e9800998ecf8427e")
        md5 = MD5Hasher()
        md5.update(Array("abc".utf8))
        #expect(Hex.encode(md5.finalize()) == "900150983cd24fb0d6963f7d28e17f72")
        // RFC 2202, test case 2.
        #expect(Hex.encode(hmacSHA1(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
            == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    }

    @Test("random messages fed in random pieces agree with swift-crypto", arguments: 0..<40)
    func agreesWithSwiftCrypto(seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed) &+ 1)
        let length = Int.random(in: 0...3000, using: &generator)
        let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var sha256 = SHA256Hasher()
        var md5 = MD5Hasher()
        var offset = 0
        while offset < message.count {
            let piece = min(message.count - offset, Int.random(in: 1...130, using: &generator))
            sha256.update(Array(message[offset..<offset + piece]))
            md5.update(Array(message[offset..<offset + piece]))
            offset += piece
        }
        #expect(sha256.finalize() == Array(SHA256.hash(data: message)))
        #expect(md5.finalize() == Array(Insecure.MD5.hash(data: message)))
        let key = Array(message.prefix(Int.random(in: 0...100, using: &generator)))
        let expected = HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key))
        #expect(hmacSHA1(key: key, message: message) == Array(expected))
    }
}
