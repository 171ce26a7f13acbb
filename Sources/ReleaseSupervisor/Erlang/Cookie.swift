/// The shared secret that Erlang nodes prove they know during the handshake.
///
/// The value is never shown: `description`, `debugDescription` and reflection (`dump`, string
/// interpolation of any value holding a cookie) all print `Cookie(redacted)`.
public struct Cookie: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let secret: [UInt8]

    /// Wraps the cookie text, as found in `~/.erlang.cookie` or a release's `releases/COOKIE`.
    public init(_ secret: String) {
        self.secret = Array(secret.utf8)
    }

    /// Always `Cookie(redacted)`.
    public var description: String { "Cookie(redacted)" }
    /// Always `Cookie(redacted)`.
    public var debugDescription: String { description }
    /// A mirror with no children, so reflection cannot reveal the secret.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// The secret's bytes, for handing it to a release as it starts (on stdin, never on a command line).
    var secretBytes: [UInt8] { secret }

    /// The handshake digest: MD5 of the cookie followed by the challenge in decimal.
    func digest(challenge: UInt32) -> [UInt8] {
        var md5 = MD5Hasher()
        md5.update(secret)
        md5.update(Array(String(challenge).utf8))
        return md5.finalize()
    }
}
