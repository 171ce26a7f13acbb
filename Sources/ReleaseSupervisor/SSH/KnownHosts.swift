/// One OpenSSH known_hosts file, parsed: plain and hashed (`|1|salt|hash`) host patterns, wildcards, negation,
/// `[host]:port` for other ports, and the `@revoked` marker.
///
/// Safety rules, so that a file written by another tool (or by hand, on Windows) never loses a pin:
/// - Lines are split on bytes: `\n` ends a line and one trailing `\r` is dropped. (In Swift, `"\r\n"` is one
///   `Character`, so splitting text on `"\n"` reads a CRLF file as a single line, pinning nothing.)
/// - Names are compared in ASCII lower case, as OpenSSH lowercases the host it looks up; a hashed entry is the
///   HMAC of the lowercased name.
/// - A line that cannot be read (too few fields, bad base64, an unknown `@marker`) is skipped, as OpenSSH does.
///   `@cert-authority` lines are skipped too: certificates are not accepted, so such a line vouches for nothing,
///   and it must not be read as a plain key for its patterns.
struct KnownHosts: Sendable, Equatable {
    /// The host patterns of one line.
    enum Hosts: Sendable, Equatable {
        /// `|1|base64(salt)|base64(HMAC-SHA1(salt, lowercased name))`.
        case hashed(salt: [UInt8], mac: [UInt8])
        /// A comma-separated list, lowercased; a name matches when some pattern does and no negated one does.
        case patterns([Pattern])
    }

    /// One pattern of a list: a glob with `*` and `?`, maybe negated with a leading `!`.
    struct Pattern: Sendable, Equatable {
        var negated: Bool
        var glob: [UInt8]
    }

    /// One key line.
    struct Entry: Sendable, Equatable {
        /// The line's number in the file, from 1, for messages.
        var line: Int
        /// Whether the line is `@revoked`: the key is refused for the hosts it names.
        var revoked: Bool
        /// The hosts the line names.
        var hosts: Hosts
        /// The key's type as written, such as `ssh-ed25519`.
        var keyType: String
        /// The key blob, decoded from base64.
        var key: [UInt8]
    }

    /// What one file says about a key a server offered.
    enum Verdict: Equatable {
        /// A line holds this key for the host.
        case known(Entry)
        /// No line names the host.
        case unknown
        /// Other keys are known for the host (and not this one): those lines.
        case changed(known: [Entry])
        /// A `@revoked` line names this key for the host.
        case revoked(Entry)
    }

    /// The key lines, in file order.
    private(set) var entries: [Entry] = []

    /// Parses a file's bytes; lines it cannot read are skipped. A pure function of its input, for fuzzing.
    static func parse(_ bytes: [UInt8]) -> KnownHosts {
        var file = KnownHosts()
        var start = bytes.startIndex
        var number = 0
        // Line by line, without an array of all lines or fields: a file of blank lines stays cheap.
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            number += 1
            var line = bytes[start..<end]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if let entry = parseLine(line, number: number) { file.entries.append(entry) }
            start = end + 1
        }
        return file
    }

    private static func parseLine(_ line: ArraySlice<UInt8>, number: Int) -> Entry? {
        // Marker, hosts, type and key at most; anything after the key (a comment) is ignored.
        var fields = Self.fields(line, limit: 4)[...]
        guard let first = fields.first, first.first != UInt8(ascii: "#") else { return nil }
        var revoked = false
        if first.first == UInt8(ascii: "@") {
            guard first.elementsEqual("@revoked".utf8) else { return nil }  // @cert-authority, or unknown
            revoked = true
            fields = fields.dropFirst()
        }
        guard fields.count >= 3 else { return nil }
        let start = fields.startIndex
        guard let hosts = parseHosts(fields[start]),
            let key = Base64.decode(String(decoding: fields[start + 2], as: UTF8.self)), !key.isEmpty
        else { return nil }
        let keyType = String(decoding: fields[start + 1], as: UTF8.self)
        return Entry(line: number, revoked: revoked, hosts: hosts, keyType: keyType, key: key)
    }

    /// The first `limit` runs of bytes between spaces and tabs.
    private static func fields(_ line: ArraySlice<UInt8>, limit: Int) -> [ArraySlice<UInt8>] {
        var fields: [ArraySlice<UInt8>] = []
        var index = line.startIndex
        while fields.count < limit {
            while index < line.endIndex && (line[index] == UInt8(ascii: " ") || line[index] == UInt8(ascii: "\t")) {
                index += 1
            }
            guard index < line.endIndex else { break }
            let start = index
            while index < line.endIndex && line[index] != UInt8(ascii: " ") && line[index] != UInt8(ascii: "\t") {
                index += 1
            }
            fields.append(line[start..<index])
        }
        return fields
    }

    private static func parseHosts(_ field: ArraySlice<UInt8>) -> Hosts? {
        if field.starts(with: "|1|".utf8) {
            // OpenSSH writes (and only matches) a 20-byte salt and a 20-byte SHA-1 HMAC.
            let parts = field.dropFirst(3).split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
            guard parts.count == 2,
                let salt = Base64.decode(String(decoding: parts[0], as: UTF8.self)), salt.count == 20,
                let mac = Base64.decode(String(decoding: parts[1], as: UTF8.self)), mac.count == 20
            else { return nil }
            return .hashed(salt: salt, mac: mac)
        }
        let patterns = field.split(separator: UInt8(ascii: ",")).map { pattern in
            let negated = pattern.first == UInt8(ascii: "!")
            return Pattern(negated: negated, glob: lowercased(negated ? pattern.dropFirst() : pattern))
        }
        return patterns.isEmpty ? nil : .patterns(patterns)
    }

    /// The name known_hosts uses for `host` on `port`, lowercased: `host`, or `[host]:port` off port 22.
    static func lookupName(host: String, port: UInt16) -> String {
        String(decoding: lowercased(Array((port == 22 ? host : "[\(host)]:\(port)").utf8)), as: UTF8.self)
    }

    /// The lines that name `host`:`port`, revoked ones included, in file order.
    func entries(host: String, port: UInt16) -> [Entry] {
        let name = Array(Self.lookupName(host: host, port: port).utf8)
        return entries.filter { Self.matches(name: name, hosts: $0.hosts) }
    }

    /// Judges a key the server at `host`:`port` offered.
    func verdict(host: String, port: UInt16, keyType: String, key: [UInt8]) -> Verdict {
        let matching = entries(host: host, port: port)
        if let line = matching.first(where: { $0.revoked && $0.key == key }) { return .revoked(line) }
        let current = matching.filter { !$0.revoked }
        if let line = current.first(where: { $0.keyType == keyType && $0.key == key }) { return .known(line) }
        return current.isEmpty ? .unknown : .changed(known: current)
    }

    /// The key types known for `host`:`port`, in file order, without repeats.
    func knownKeyTypes(host: String, port: UInt16) -> [String] {
        var types: [String] = []
        for entry in entries(host: host, port: port) where !entry.revoked {
            if !types.contains(entry.keyType) { types.append(entry.keyType) }
        }
        return types
    }

    /// The line `accept-new` records for a new key, with its newline.
    static func line(host: String, port: UInt16, keyType: String, key: [UInt8]) -> String {
        "\(lookupName(host: host, port: port)) \(keyType) \(Base64.encode(key))\n"
    }

    /// OpenSSH's SHA256 fingerprint: `SHA256:` and unpadded base64 of the key blob's digest.
    static func fingerprint(_ key: [UInt8]) -> String {
        "SHA256:" + Base64.encode(SHA256Hasher.hash(key), padding: false)
    }

    /// Whether the lowercased `name` matches a line's hosts.
    static func matches(name: [UInt8], hosts: Hosts) -> Bool {
        switch hosts {
        case .hashed(let salt, let mac):
            return hmacSHA1(key: salt, message: name) == mac
        case .patterns(let patterns):
            var matched = false
            for pattern in patterns where wildcardMatch(name, pattern.glob) {
                if pattern.negated { return false }
                matched = true
            }
            return matched
        }
    }

    /// ASCII lower case, as OpenSSH compares host names; other bytes are kept.
    static func lowercased(_ bytes: some Collection<UInt8>) -> [UInt8] {
        bytes.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }
    }

    /// Glob match with `*` (any run) and `?` (any one byte).
    static func wildcardMatch(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
        var textIndex = 0
        var patternIndex = 0
        var starPattern = -1
        var starText = 0
        while textIndex < text.count {
            if patternIndex < pattern.count
                && (pattern[patternIndex] == UInt8(ascii: "?") || pattern[patternIndex] == text[textIndex])
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
