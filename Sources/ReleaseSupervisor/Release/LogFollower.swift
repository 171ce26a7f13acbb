/// What one look at a release's run_erl logs (`tmp/log/erlang.log.N`) asks the host for.
public enum LogPoll: Sendable, Equatable {
    /// The last `lines` lines of the newest log, at most `limit` bytes of them.
    case tail(lines: Int, limit: Int)
    /// At most `limit` bytes of `file` from byte `offset` on.
    case read(file: String, offset: Int, limit: Int)
}

/// The host's answer to a `LogPoll`: the header line `controlnode-log NEWEST NEWEST_SIZE FILE_SIZE`, then the bytes.
///
/// `NEWEST` is `-` when there is no log yet; `FILE_SIZE` is the size of the file the poll read (-1 when it is gone).
public struct LogPollReply: Sendable, Equatable {
    /// The newest `erlang.log.N` (the one run_erl writes now), nil when there is none.
    public var newest: String?
    /// Its size in bytes.
    public var newestSize: Int
    /// The size of the file read, -1 when it no longer exists.
    public var fileSize: Int
    /// The bytes read.
    public var bytes: [UInt8]

    /// Creates a reply.
    public init(newest: String?, newestSize: Int, fileSize: Int, bytes: [UInt8]) {
        self.newest = newest
        self.newestSize = newestSize
        self.fileSize = fileSize
        self.bytes = bytes
    }

    /// Parses what the poll script printed; nil when it is not a reply (the header is missing or malformed, or a
    /// file name is not `erlang.log.N`, so a host cannot make the next script read anything else).
    public init?(output: [UInt8]) {
        guard let newline = output.firstIndex(of: 10) else { return nil }
        let fields = output[..<newline].split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == 4, fields[0] == "controlnode-log", let newestSize = Int(fields[2]),
            let fileSize = Int(fields[3]), newestSize >= 0, fileSize >= -1
        else { return nil }
        if fields[1] == "-" {
            newest = nil
        } else {
            guard LogFollower.isLogName(fields[1]) else { return nil }
            newest = fields[1]
        }
        self.newestSize = newestSize
        self.fileSize = fileSize
        bytes = Array(output[(newline + 1)...])
    }
}

/// Follows a release's run_erl logs across rotation, one poll at a time: which file and offset to read next, and
/// the complete lines each reply adds. Pure: the caller runs the polls (`LogPoll`) on the host.
///
/// run_erl writes `erlang.log.N` until it passes its size limit, then moves on to `N+1` (truncating it), and wraps
/// back to 1 after its last generation; the newest file (by modification time) is the current one. The follower
/// reads the file it follows from its offset; once the host names another file as newest it reads what is left of
/// the old one, then the new one from its start. A followed file that shrank was truncated (run_erl wrapped onto
/// it): it is read again from its start.
public struct LogFollower: Sendable {
    /// The most bytes one poll reads, so one busy log cannot flood the daemon or the caller.
    public static let pollLimit = 64 * 1024
    /// The most bytes of the first look (`-n`).
    public static let tailLimit = 256 * 1024
    /// The most lines `-n` may ask for.
    public static let maximumLines = 10_000
    /// A line longer than this is passed on in pieces of this size.
    public static let lineLimit = 16 * 1024

    private enum Phase: Sendable, Equatable {
        /// Nothing read yet: the last lines of the newest log come first.
        case starting(lines: Int)
        /// No log existed at the last look.
        case waiting
        case following(file: String, offset: Int)
    }

    private var phase: Phase
    /// Bytes of a line not yet ended by a newline.
    private var partial: [UInt8] = []

    /// A follower that starts with the last `lines` lines (capped at `maximumLines`).
    public init(lines: Int) {
        phase = .starting(lines: max(0, min(lines, Self.maximumLines)))
    }

    /// Whether `name` is a run_erl log name, `erlang.log.` and digits.
    public static func isLogName(_ name: String) -> Bool {
        let prefix = "erlang.log."
        guard name.hasPrefix(prefix) else { return false }
        let digits = name.utf8.dropFirst(prefix.utf8.count)
        return !digits.isEmpty && digits.count <= 6 && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// The file being followed and the offset reached, once following.
    public var position: (file: String, offset: Int)? {
        if case .following(let file, let offset) = phase { return (file, offset) }
        return nil
    }

    /// What to ask the host next.
    public var nextPoll: LogPoll {
        switch phase {
        case .starting(let lines): .tail(lines: lines, limit: Self.tailLimit)
        case .waiting: .tail(lines: 0, limit: Self.tailLimit)
        case .following(let file, let offset): .read(file: file, offset: offset, limit: Self.pollLimit)
        }
    }

    /// Takes the reply to `nextPoll` and returns the complete lines it adds (without their newlines, a trailing
    /// carriage return dropped); a line cut short by the end of a file that is left behind is returned as it is.
    public mutating func take(_ reply: LogPollReply) -> [String] {
        switch phase {
        case .waiting:
            // The first log appeared since the last look: all of it is new.
            if let newest = reply.newest { phase = .following(file: newest, offset: 0) }
            return []
        case .starting:
            guard let newest = reply.newest else {
                phase = .waiting
                return []
            }
            // A first look shows the tail: whole lines only, from the size the host measured on.
            phase = .following(file: newest, offset: reply.newestSize)
            partial = []
            var lines = split(reply.bytes)
            if !partial.isEmpty { lines.append(text(partial)) }
            partial = []
            return lines
        case .following(let file, let offset):
            guard let newest = reply.newest else {
                phase = .waiting
                return flush()
            }
            if reply.fileSize < offset {
                // The followed file shrank or went away (truncated by a wrap, or replaced by a new version's log
                // directory): the newest is read from its start.
                let lines = flush()
                phase = .following(file: newest, offset: 0)
                return lines
            }
            var lines = split(reply.bytes)
            let reached = offset + reply.bytes.count
            if newest != file && reply.bytes.count < Self.pollLimit && reached >= reply.fileSize {
                // All of the old file is read: on to the new one, from its start.
                lines += flush()
                phase = .following(file: newest, offset: 0)
            } else {
                phase = .following(file: file, offset: reached)
            }
            return lines
        }
    }

    /// Whatever partial line is held, as a line (the file it came from is left behind).
    private mutating func flush() -> [String] {
        defer { partial = [] }
        return partial.isEmpty ? [] : [text(partial)]
    }

    /// Splits `bytes` into complete lines, after what `partial` held; keeps the unfinished end in `partial`.
    private mutating func split(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == 10 {
            partial += bytes[start..<index]
            lines.append(text(partial))
            partial = []
            start = index + 1
        }
        partial += bytes[start...]
        while partial.count > Self.lineLimit {
            lines.append(text(Array(partial.prefix(Self.lineLimit))))
            partial.removeFirst(Self.lineLimit)
        }
        return lines
    }

    private func text(_ bytes: [UInt8]) -> String {
        var line = bytes
        if line.last == 13 { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }
}
