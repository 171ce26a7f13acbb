import ReleaseSupervisor

extension Supervisor {
    /// Earlier events shown when the request names no limit: without `--since`, from memory.
    static let recentEvents = 50
    /// And with `--since`, from the store as well.
    static let sinceEvents = 1000
    /// The most earlier events one answer carries.
    static let maximumEvents = 10_000

    /// `controlnode events`: the earlier events (from the store too with `since`), then, when following, each
    /// new one as it happens, until the caller goes, falls too far behind, or the daemon stops.
    func events(_ request: ControlRequest) async -> ControlAnswer {
        if let release = request.release, config.releases[release] == nil {
            return ControlAnswer(unknown(request))
        }
        if let host = request.host, config.hosts[host] == nil {
            return ControlAnswer(ControlResponse(ok: false, error: "no host \(host) in \(configPath)"))
        }
        let since = request.since.map { EventAge.moment(max(0, $0), before: .now()) }
        let filter = EventFilter(release: request.release, host: request.host, since: since)
        let limit = max(1, min(request.limit ?? (since == nil ? Self.recentEvents : Self.sinceEvents), Self.maximumEvents))
        // The store first, then the ring (with the subscription, at one instant): what was published between the
        // two is in the ring, and what comes after is in the stream; `merge` drops what both hold.
        var stored: [EventRecord] = []
        var note: String?
        if since != nil {
            do {
                stored = try await store.events(matching: filter, limit: limit)
            } catch {
                note = "cannot read the stored events (\(error)); only those in memory are shown"
            }
        }
        guard request.follow == true else {
            let events = EventLog.merge(stored: stored, recent: eventLog.recent(filter, limit: limit), limit: limit)
            return ControlAnswer(ControlResponse(ok: true, message: note, events: events.map(EventRow.init)))
        }
        let (recent, lines) = eventLog.follow(filter, recent: limit) { item in ControlResponse.following(item) }
        let events = EventLog.merge(stored: stored, recent: recent, limit: limit)
        return ControlAnswer(ControlResponse(ok: true, message: note, events: events.map(EventRow.init)), streaming: lines)
    }
}

extension ControlResponse {
    /// The line of one item of a followed event stream: an event, or the last line of a dropped follower.
    static func following(_ item: EventFeedItem) -> ControlResponse {
        switch item {
        case .event(let record):
            return ControlResponse(ok: true, event: EventRow(record))
        case .dropped(let buffer):
            return ControlResponse(
                ok: false,
                error: "dropped: this follower fell more than \(buffer) events behind (it did not read them); "
                    + "run controlnode events --follow again, with --since to see what was missed",
                done: true)
        }
    }
}
