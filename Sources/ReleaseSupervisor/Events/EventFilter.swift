/// Which events a reader of `controlnode events` wants: of one release, of one host, since a moment.
public struct EventFilter: Sendable, Equatable {
    /// Only this release, when set.
    public var release: String?
    /// Only this host, when set. What happens to a rollout as a whole (no host) still passes: it concerns every
    /// host of the rollout.
    public var host: String?
    /// Only events at or after this moment, when set.
    public var since: WallClockTime?

    /// A filter; every part left nil lets everything through.
    public init(release: String? = nil, host: String? = nil, since: WallClockTime? = nil) {
        self.release = release
        self.host = host
        self.since = since
    }

    /// Whether `record` passes.
    public func matches(_ record: EventRecord) -> Bool {
        if let release, record.release != release { return false }
        if let host, let recordHost = record.host, recordHost != host { return false }
        if let since, record.time < since { return false }
        return true
    }
}

/// How far back `controlnode events --since` looks: whole numbers with a unit, `s`, `m`, `h` or `d`, one or several
/// (`90s`, `10m`, `2h`, `1d`, `1h30m`).
public enum EventAge {
    /// The longest look-back accepted: the store keeps events for `EventStoreLimits.maximumAge` anyway.
    public static let maximumSeconds: Int64 = 3650 * 86_400

    /// The seconds `text` names, or nil when it is not one or more whole numbers each followed by s, m, h or d.
    public static func seconds(_ text: String) -> Int64? {
        var total: Int64 = 0
        var number: Int64?
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                number = (number ?? 0) * 10 + Int64(digit)
                guard number! <= maximumSeconds else { return nil }
                continue
            }
            let unit: Int64
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            default: return nil
            }
            guard let count = number else { return nil }
            total += count * unit
            guard total <= maximumSeconds else { return nil }
            number = nil
        }
        guard number == nil, !text.isEmpty else { return nil }
        return total
    }

    /// The moment `seconds` before `now`.
    public static func moment(_ seconds: Int64, before now: WallClockTime) -> WallClockTime {
        WallClockTime(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch - seconds * 1_000_000_000)
    }
}
