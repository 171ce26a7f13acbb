public import Logging

/// A swift-log handler that writes structured entries to journald, so a sysadmin can filter with
/// `journalctl SYSLOG_IDENTIFIER=controlnode RELEASE=service_app HOST=web1`.
///
/// Each entry has `MESSAGE=`, `PRIORITY=` (syslog level), `SYSLOG_IDENTIFIER=`, `LOGGER=` (the logger's
/// label), `CODE_FILE=`/`CODE_LINE=`/`CODE_FUNC=`, and one field per metadata key, named by
/// `JournalFieldName.sanitize` (`tunnel-port` → `TUNNEL_PORT`). Entries go through a `JournalWriter`, so a
/// stalled journald costs dropped entries, never a blocked caller.
public struct JournalLogHandler: LogHandler {
    /// The handler's own metadata, merged under each call's metadata.
    public var metadata: Logger.Metadata = [:]
    /// Entries below this level are not written.
    public var logLevel: Logger.Level
    /// The metadata provider swift-log consults at each call.
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let identifier: String
    private let writer: JournalWriter

    /// A handler for the logger `label`, writing through `writer` as `SYSLOG_IDENTIFIER=identifier`.
    public init(
        label: String, writer: JournalWriter, identifier: String = "controlnode", logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.writer = writer
        self.identifier = identifier
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    /// The handler's metadata value for `key`.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Builds the entry and queues it for journald.
    public func log(event: LogEvent) {
        var entry = JournalEntry()
        entry.append("MESSAGE", event.message.description)
        entry.append("PRIORITY", String(Self.syslogPriority(event.level)))
        entry.append("SYSLOG_IDENTIFIER", identifier)
        entry.append("LOGGER", label)
        entry.append("CODE_FILE", event.file)
        entry.append("CODE_LINE", String(event.line))
        entry.append("CODE_FUNC", event.function)
        for (key, value) in mergedMetadata(event.metadata).sorted(by: { $0.key < $1.key }) {
            entry.append(JournalFieldName.sanitize(key), value.description)
        }
        writer.submit(entry)
    }

    private func mergedMetadata(_ explicit: Logger.Metadata?) -> Logger.Metadata {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit { merged.merge(explicit) { _, new in new } }
        return merged
    }

    /// swift-log's levels as syslog priorities (`journalctl -p`): trace and debug are both 7 (debug).
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
