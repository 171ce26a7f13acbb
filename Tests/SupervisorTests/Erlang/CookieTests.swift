import Testing

@testable import ReleaseSupervisor

@Suite("Cookie")
struct CookieTests {
    @Test("the cookie never appears in descriptions, reflection or dumps")
    func redacted() {
        let secret = "very-secret-cookie-4711"
        let configuration = DistributionConfiguration(cookie: Cookie(secret))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [
            String(describing: configuration.cookie), String(reflecting: configuration.cookie),
            String(describing: configuration), String(reflecting: configuration), "\(configuration)", dumped,
        ] {
            #expect(!text.contains(secret), "leaked in: \(text)")
        }
    }

    @Test("the digest is MD5 of the cookie and the challenge in decimal")
    func digest() {
        // md5("abc" + "1234") = md5("abc1234")
        let expected: [UInt8] = [
            0xa1, 0x41, 0xc4, 0x79, 0x27, 0x92, 0x9b, 0xc2, 0xd1, 0xfb, 0x6d, 0x33, 0x6a, 0x25, 0x6d, 0xf4,
        ]
        #expect(Cookie("abc").digest(challenge: 1234) == expected)
    }
}
