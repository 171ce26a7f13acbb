/// Reads the structure of a tar archive fed to it in pieces of any size: ustar and v7 headers, GNU long
/// names (`L`/`K`) and pax extended headers (`x`; global `g` is read and ignored). Pure logic, no I/O.
///
/// Member data is skipped, not kept; only long names, pax records and the few members named in
/// `keptMembers` are buffered, up to `captureLimit` (`keptMemberLimit` for members).
///
/// The registry's tarballs are unpacked on production hosts, so anything that would let a local user of the
/// host take over the release is refused:
/// - paths that escape the extraction directory, directly or through a symbolic link seen earlier in the
///   archive (links are resolved against the links already seen, as tar follows them while extracting);
/// - links whose target resolves outside it;
/// - a `./` member, which would give the version directory the archive's owner and mode;
/// - setuid, setgid and sticky bits, and group- or world-writable modes;
/// - device nodes, FIFOs and any member type but files, directories and links.
struct TarScanner {
    private enum Capture { case longName, longLink, pax, globalPax, member(TarEntry) }
    private enum Phase {
        case header
        case body(remaining: Int, padding: Int, capture: Capture?)
        case finished
    }

    /// The most bytes a long name or pax header may hold.
    static let captureLimit = 1 << 20
    private static let blockSize = 512

    private var phase = Phase.header
    private var block: [UInt8] = []
    private var captured: [UInt8] = []
    private var longName: String?
    private var longLink: String?
    private var pax: [String: String] = [:]
    private var currentPath = ""
    /// Symbolic links seen so far: their resolved location (components from the root) to their target.
    private var links = TarLinks()
    /// Members whose data the entry callback receives (small files such as `releases/start_erl.data`).
    private let keptMembers: Set<String>
    /// Archive bytes consumed so far (decompressed), for messages.
    private(set) var offset = 0

    /// The longest member name or link target: the host's PATH_MAX, which no release comes near.
    static let maximumPathLength = 4096

    /// The most bytes of a kept member's data; a larger member is reported without its data.
    static let keptMemberLimit = 4096

    init(keptMembers: Set<String> = []) {
        self.keptMembers = keptMembers
        block.reserveCapacity(Self.blockSize)
    }

    /// Consumes the next bytes of the archive, calling `entry` for each member whose header completes.
    ///
    /// - Throws: `ArchiveError` with `.corruptTar` or `.unsafeEntry`, or what `entry` throws.
    mutating func consume(
        _ bytes: UnsafeRawBufferPointer, _ entry: (TarEntry) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        var index = 0
        while index < bytes.count {
            switch phase {
            case .finished:
                // Whatever follows the end marker (tar pads to whole records with zeros) is not read.
                offset += bytes.count - index
                return
            case .header:
                let take = min(Self.blockSize - block.count, bytes.count - index)
                block.append(contentsOf: bytes[index..<index + take])
                index += take
                offset += take
                if block.count == Self.blockSize {
                    try readHeader(entry)
                    block.removeAll(keepingCapacity: true)
                }
            case .body(let remaining, let padding, let capture):
                let take = min(remaining + padding, bytes.count - index)
                if capture != nil && remaining > 0 {
                    captured.append(contentsOf: bytes[index..<index + min(take, remaining)])
                }
                index += take
                offset += take
                let dataLeft = max(0, remaining - take)
                let paddingLeft = remaining + padding - take - dataLeft
                if dataLeft + paddingLeft > 0 {
                    phase = .body(remaining: dataLeft, padding: paddingLeft, capture: capture)
                } else {
                    phase = .header
                    if let capture { try finishCapture(capture, entry) }
                }
            }
        }
    }

    /// Confirms the archive is complete: its end marker (a zero block) was read.
    ///
    /// - Throws: `ArchiveError` with `.truncated` when the data stops before it.
    func finish() throws(ArchiveError) {
        switch phase {
        case .finished:
            return
        case .body:
            throw ArchiveError(.truncated, "the tar archive stops inside the data of \(currentPath)")
        case .header:
            throw ArchiveError(.truncated, "the tar archive stops at byte \(offset) without its end marker")
        }
    }

    private mutating func readHeader(_ entry: (TarEntry) throws(ArchiveError) -> Void) throws(ArchiveError) {
        if block.allSatisfy({ $0 == 0 }) {
            phase = .finished
            return
        }
        let header = try TarHeader(block, at: offset - Self.blockSize)
        let padding = (Self.blockSize - header.size % Self.blockSize) % Self.blockSize
        let capture: Capture? =
            switch header.type {
            case UInt8(ascii: "L"): .longName
            case UInt8(ascii: "K"): .longLink
            case UInt8(ascii: "x"): .pax
            case UInt8(ascii: "g"): .globalPax
            default: nil
            }
        if let capture {
            guard header.size <= Self.captureLimit else {
                throw ArchiveError(.corruptTar, "an extended header at byte \(offset) claims \(header.size) bytes")
            }
            captured.removeAll(keepingCapacity: true)
            if header.size == 0 {
                try finishCapture(capture, entry)
            } else {
                phase = .body(remaining: header.size, padding: padding, capture: capture)
            }
            return
        }
        let path = pax.removeValue(forKey: "path") ?? longName ?? header.path
        let link = pax.removeValue(forKey: "linkpath") ?? longLink ?? header.linkName
        var size = header.size
        if let paxSize = pax.removeValue(forKey: "size") {
            guard let value = Int(paxSize), value >= 0 else {
                throw ArchiveError(.corruptTar, "the pax size of \(path) is not a number: \(paxSize)")
            }
            size = value
        }
        // GNU base-256 and pax sizes reach Int.max, where adding the padding below would trap.
        guard size <= Int.max - Self.blockSize else {
            throw ArchiveError(.corruptTar, "member \(path) claims \(size) bytes, more than any archive holds")
        }
        longName = nil
        longLink = nil
        pax.removeAll()
        currentPath = path
        let member = try self.member(path: path, type: header.type, link: link, size: size, mode: header.mode)
        let dataPadding = (Self.blockSize - size % Self.blockSize) % Self.blockSize
        if member.kind == .file, keptMembers.contains(member.path), size <= Self.keptMemberLimit {
            captured.removeAll(keepingCapacity: true)
            if size == 0 {
                try entry(member)
            } else {
                phase = .body(remaining: size, padding: dataPadding, capture: .member(member))
            }
            return
        }
        try entry(member)
        phase = size + dataPadding > 0 ? .body(remaining: size, padding: dataPadding, capture: nil) : .header
    }

    private mutating func member(
        path: String, type: UInt8, link: String, size: Int, mode: UInt32
    ) throws(ArchiveError) -> TarEntry {
        guard path.utf8.count <= Self.maximumPathLength, link.utf8.count <= Self.maximumPathLength else {
            throw ArchiveError(
                .unsafeEntry, "a member's name or link target is longer than \(Self.maximumPathLength) bytes")
        }
        guard let components = TarPath.safeComponents(path) else {
            throw ArchiveError(.unsafeEntry, "member \(path) would be written outside the release directory")
        }
        guard !components.isEmpty else {
            throw ArchiveError(
                .unsafeEntry,
                "member \(path) is the release directory itself: extracting it would give that directory the "
                    + "archive's owner and mode (\(String(mode & 0o7777, radix: 8))); pack the release's entries, not "
                    + "'.' (tar -czf NAME-VERSION.tar.gz -C DIR bin erts-* lib releases), or use mix release's tarball")
        }
        let normalised = components.joined(separator: "/")
        // Where tar would write it: through the symbolic links extracted before it.
        guard let parent = links.resolve(components.dropLast()) else {
            throw ArchiveError(
                .unsafeEntry, "member \(normalised) would be written outside the release directory through a link")
        }
        let location = parent + [String(components.last!)]
        let kind: TarEntry.Kind
        switch type {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "1"):
            guard let target = TarPath.safeComponents(link), !target.isEmpty, links.resolve(target[...]) != nil else {
                throw ArchiveError(.unsafeEntry, "hard link \(normalised) points outside the release: \(link)")
            }
            kind = .hardLink(target: target.joined(separator: "/"))
        case UInt8(ascii: "2"):
            guard !link.hasPrefix("/"), links.resolve(parent + link.split(separator: "/").map(String.init)) != nil
            else {
                throw ArchiveError(.unsafeEntry, "symbolic link \(normalised) points outside the release: \(link)")
            }
            links.add(location, target: link)
            kind = .symbolicLink(target: link)
        case UInt8(ascii: "3"), UInt8(ascii: "4"):
            throw ArchiveError(.unsafeEntry, "member \(normalised) is a device node")
        case UInt8(ascii: "6"):
            throw ArchiveError(.unsafeEntry, "member \(normalised) is a FIFO")
        default:
            throw ArchiveError(
                .unsafeEntry, "member \(normalised) has tar type '\(Unicode.Scalar(type))', which a release never holds")
        }
        if kind != .symbolicLink(target: link), let problem = Self.unsafeMode(mode) {
            throw ArchiveError(
                .unsafeEntry,
                "member \(normalised) has mode \(String(mode & 0o7777, radix: 8)), \(problem): another user of the "
                    + "host could take over the release; rebuild it with ordinary modes (umask 022; mix release)")
        }
        return TarEntry(path: normalised, kind: kind, size: size, mode: mode)
    }

    /// Why a member's mode is unsafe on a host, or nil.
    private static func unsafeMode(_ mode: UInt32) -> String? {
        if mode & 0o4000 != 0 { return "setuid" }
        if mode & 0o2000 != 0 { return "setgid" }
        if mode & 0o1000 != 0 { return "sticky" }
        if mode & 0o002 != 0 { return "writable by every user" }
        if mode & 0o020 != 0 { return "writable by its group" }
        return nil
    }

    private mutating func finishCapture(
        _ capture: Capture, _ entry: (TarEntry) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        let text = String(decoding: captured.prefix { $0 != 0 }, as: UTF8.self)
        switch capture {
        case .longName: longName = text
        case .longLink: longLink = text
        case .pax: pax.merge(try Self.paxRecords(captured, at: offset)) { _, new in new }
        case .globalPax: _ = try Self.paxRecords(captured, at: offset)
        case .member(var member):
            member.data = captured
            captured.removeAll(keepingCapacity: true)
            try entry(member)
        }
        captured.removeAll(keepingCapacity: true)
    }

    /// Parses pax records, each `LENGTH KEY=VALUE\n` with LENGTH counting the whole record.
    static func paxRecords(_ bytes: [UInt8], at offset: Int) throws(ArchiveError) -> [String: String] {
        var records: [String: String] = [:]
        var start = 0
        while start < bytes.count, bytes[start] != 0 {
            guard let space = bytes[start...].firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: bytes[start..<space], as: UTF8.self)),
                length > space - start, start + length <= bytes.count, bytes[start + length - 1] == 10,
                let equals = bytes[(space + 1)..<(start + length)].firstIndex(of: UInt8(ascii: "="))
            else {
                throw ArchiveError(.corruptTar, "a pax header before byte \(offset) is malformed")
            }
            let key = String(decoding: bytes[(space + 1)..<equals], as: UTF8.self)
            records[key] = String(decoding: bytes[(equals + 1)..<(start + length - 1)], as: UTF8.self)
            start += length
        }
        return records
    }
}
