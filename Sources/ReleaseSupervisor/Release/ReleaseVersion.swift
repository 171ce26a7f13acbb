/// A release's semantic version, `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, as Elixir's `Version` reads it.
///
/// Ordered by SemVer 2.0 precedence: numbers compare numerically, a pre-release comes before its release,
/// pre-release identifiers compare part by part (numeric ones numerically and below alphanumeric ones).
/// Build metadata does not change precedence; versions differing only in it are ordered by its text so
/// that sorting is stable.
public struct ReleaseVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The major number.
    public let major: Int
    /// The minor number.
    public let minor: Int
    /// The patch number.
    public let patch: Int
    /// The pre-release identifiers (`["rc", "1"]` for `-rc.1`); empty for a release.
    public let prerelease: [String]
    /// The build metadata identifiers (`["build", "7"]` for `+build.7`).
    public let build: [String]

    /// Parses `text`; nil when it is not a semantic version.
    public init?(_ text: some StringProtocol) {
        var rest = Substring(text)
        var build: [String] = []
        if let plus = rest.firstIndex(of: "+") {
            build = rest[rest.index(after: plus)...].split(separator: ".", omittingEmptySubsequences: false)
                .map(String.init)
            guard build.allSatisfy(Self.isIdentifier) else { return nil }
            rest = rest[..<plus]
        }
        var prerelease: [String] = []
        if let dash = rest.firstIndex(of: "-") {
            prerelease = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false)
                .map(String.init)
            guard prerelease.allSatisfy(Self.isIdentifier) else { return nil }
            rest = rest[..<dash]
        }
        let numbers = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3 else { return nil }
        var parsed: [Int] = []
        for number in numbers {
            guard let value = Self.number(number) else { return nil }
            parsed.append(value)
        }
        (major, minor, patch) = (parsed[0], parsed[1], parsed[2])
        self.prerelease = prerelease
        self.build = build
    }

    /// The version as written: `1.2.3-rc.1+build.7`.
    public var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { text += "-" + prerelease.joined(separator: ".") }
        if !build.isEmpty { text += "+" + build.joined(separator: ".") }
        return text
    }

    /// SemVer precedence, then build metadata text.
    public static func < (lhs: ReleaseVersion, rhs: ReleaseVersion) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        if lhs.prerelease != rhs.prerelease {
            if lhs.prerelease.isEmpty || rhs.prerelease.isEmpty { return !lhs.prerelease.isEmpty }
            for (left, right) in zip(lhs.prerelease, rhs.prerelease) where left != right {
                return identifierPrecedes(left, right)
            }
            return lhs.prerelease.count < rhs.prerelease.count
        }
        return lhs.build.joined(separator: ".") < rhs.build.joined(separator: ".")
    }

    private static func identifierPrecedes(_ left: String, _ right: String) -> Bool {
        switch (Int(left), Int(right)) {
        case (let l?, let r?): return l < r
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return left < right
        }
    }

    /// A non-negative decimal without leading zeros.
    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }), text == "0" || !text.hasPrefix("0")
        else { return nil }
        return Int(text)
    }

    private static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 45
        }
    }
}
