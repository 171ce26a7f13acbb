/// An OpenSSH known_hosts file: plain and hashed (`|1|salt|hash`) host patterns, wildcards, negation,
/// `[host]:port` for other ports, and the `@revoked` marker. `@cert-authority` lines are skipped.
struct KnownHosts {
    /// One key line.
    struct Entry {
        var revoked: Bool
        var patterns: Substring
        var keyType: String
        var key: [UInt8]
    }

    /// What known_hosts says about a key a server offered.
    enum Verdict: Equatable {
        case known
        case unknown
        /// Other keys are known for the host: each as its type and SHA256 fingerprint.
        case changed(known: [String])
        case revoked
    }

    private(set) var entries: [Entry] = []

    /// Parses file contents; lines it cannot read are skipped, as OpenSSH does.
    init(contents: String) {
        for line in contents.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            if let entry = Self.parse(line) { entries.append(entry) }
        }
    }

    private static func parse(_ line: Substring) -> Entry? {
        var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })[...]
        guard let first = fields.first, !first.hasPrefix("#") else { return nil }
        var revoked = false
        if first.hasPrefix("@") {
            guard first == "@revoked" else { return nil }
            revoked = true
            fields = fields.dropFirst()
        }
        guard fields.count >= 3 else { return nil }
        let patterns = fields[fields.startIndex]
        let keyType = String(fields[fields.startIndex + 1])
        guard let key = Base64.decode(fields[fields.startIndex + 2]) else { return nil }
        return Entry(revoked: revoked, patterns: patterns, keyType: keyType, key: key)
    }

    /// The name known_hosts uses for `host` on `port`.
    static func lookupName(host: String, port: UInt16) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// Judges a key the server at `host`:`port` offered.
    func verdict(host: String, port: UInt16, keyType: String, key: [UInt8]) -> Verdict {
        let name = Self.lookupName(host: host, port: port)
        let matching = entries.filter { Self.matches(name: name, patterns: $0.patterns) }
        if matching.contains(where: { $0.revoked && $0.key == key }) { return .revoked }
        let current = matching.filter { !$0.revoked }
        if current.contains(where: { $0.keyType == keyType && $0.key == key }) { return .known }
        if current.isEmpty { return .unknown }
        return .changed(known: current.map { "\($0.keyType) \(Self.fingerprint($0.key))" })
    }

    /// The key types known for `host`:`port`, in file order, without repeats.
    func knownKeyTypes(host: String, port: UInt16) -> [String] {
        let name = Self.lookupName(host: host, port: port)
        var types: [String] = []
        for entry in entries where !entry.revoked && Self.matches(name: name, patterns: entry.patterns) {
            if !types.contains(entry.keyType) { types.append(entry.keyType) }
        }
        return types
    }

    /// The line `accept-new` appends for a new key.
    static func line(host: String, port: UInt16, keyType: String, key: [UInt8]) -> String {
        "\(lookupName(host: host, port: port)) \(keyType) \(Base64.encode(key))\n"
    }

    /// OpenSSH's SHA256 fingerprint: `SHA256:` and unpadded base64 of the key blob's digest.
    static func fingerprint(_ key: [UInt8]) -> String {
        "SHA256:" + Base64.encode(SHA256Hasher.hash(key), padding: false)
    }

    /// Whether `name` matches a comma-separated pattern list: some pattern matches and no negated one does.
    static func matches(name: String, patterns: Substring) -> Bool {
        if patterns.hasPrefix("|1|") { return matchesHashed(name: name, field: patterns) }
        var matched = false
        for pattern in patterns.split(separator: ",") {
            if pattern.hasPrefix("!") {
                if wildcardMatch(Array(name.lowercased().utf8), Array(pattern.dropFirst().lowercased().utf8)) {
                    return false
                }
            } else if wildcardMatch(Array(name.lowercased().utf8), Array(pattern.lowercased().utf8)) {
                matched = true
            }
        }
        return matched
    }

    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
    private static func matchesHashed(name: String, field: Substring) -> Bool {
        let parts = field.split(separator: "|", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[0] == "1", let salt = Base64.decode(parts[1]),
            let expected = Base64.decode(parts[2])
        else { return false }
        return hmacSHA1(key: salt, message: Array(name.utf8)) == expected
    }

    /// Glob match with `*` (any run) and `?` (any one byte).
    static func wildcardMatch(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
        var textIndex = 0
        var patternIndex = 0
        var starPattern = -1
        var starText = 0
        while textIndex < text.count {
            if patternIndex < pattern.count && (pattern[patternIndex] == UInt8(ascii: "?")
                || pattern[patternIndex] == text[textIndex])
            {
                textIndex += 1
                patternIndex += 1
            } else if patternIndex < pattern.count && pattern[patternIndex] == UInt8(ascii: "*") {
                starPattern = patternIndex
                starText = textIndex
                patternIndex += 1
            } else if starPattern >= 0 {
                patternIndex = starPattern + 1
                starText += 1
                textIndex = starText
            } else {
                return false
            }
        }
        while patternIndex < pattern.count && pattern[patternIndex] == UInt8(ascii: "*") { patternIndex += 1 }
        return patternIndex == pattern.count
    }
}
