/// Durations in the configuration file: a whole number and a unit, as in "500ms", "5s", "5m", "1h".
enum ConfigDuration {
    private static let units: [(suffix: String, duration: Duration)] = [
        ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)),
    ]

    /// The duration `text` names, or nil when it is not a whole number followed by ms, s, m or h.
    static func parse(_ text: String) -> Duration? {
        // "ms" before "m" and "s": the longest suffix that matches wins.
        for (suffix, unit) in units.sorted(by: { $0.suffix.count > $1.suffix.count }) where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard !number.isEmpty, number.allSatisfy(\.isASCII), number.allSatisfy(\.isNumber),
                let count = Int(number), count <= 1_000_000_000
            else { return nil }
            return unit * count
        }
        return nil
    }

    /// The shortest text `parse` reads back as `duration` (the largest unit that divides it exactly).
    static func render(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        for (suffix, factor) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)]
        where milliseconds != 0 && milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}
