import ReleaseSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// What `deploy` and `rollback` print while they follow a rollout: on a terminal, one line per host redrawn in
/// place and a progress bar under them; otherwise one timestamped line per update, for logs and scripts.
final class RolloutView {
    private let live: Bool
    private var hosts: [String] = []
    private var states: [String: UpdateRow] = [:]
    private var drawn = 0
    private var phase: String?
    /// The rollout's end, printed under the last picture.
    private var ending: String?

    /// A view drawing in place when `live` (stdout is a terminal).
    init(live: Bool) { self.live = live }

    /// The rollout being followed, for the message Ctrl-C prints.
    static var rollout: Int64? {
        get { nil }
        set {
            guard let id = newValue else { return }
            let text = "\ncontrolnode: detached from rollout #\(id); it goes on in the daemon (controlnode rollout status)\n"
            free(detachNote)
            detachNote = strdup(text)
        }
    }

    /// Ctrl-C leaves the rollout running: the CLI says so and exits 130.
    static func detachOnInterrupt() {
        signal(SIGINT) { _ in
            if let note = detachNote { _ = write(2, note, strlen(note)) }
            _exit(130)
        }
    }

    /// A line from the daemon that is not a host's update (the rollout's id, say).
    func note(_ message: String) {
        if live { line(message) } else { line("\(WallClockTime.now()) \(message)") }
    }

    /// One update of a host, or of the rollout as a whole.
    func show(_ update: UpdateRow) {
        guard let host = update.host else {
            phase = update.result == nil ? update.state : nil
            if live && update.result != nil {
                // A failure's reason is the command's last line (stderr); a success is said here.
                if update.result == "succeeded" { ending = "rollout #\(update.rollout): succeeded" }
                redraw()
            } else {
                emit("rollout #\(update.rollout): \(update.text)")
            }
            return
        }
        if states[host] == nil { hosts.append(host) }
        let previous = states[host]?.text
        states[host] = update
        if live {
            redraw()
        } else if update.text != previous {
            emit("rollout #\(update.rollout) \(host) \(update.text)")
        }
    }

    /// Leaves the last picture on screen, with how the rollout ended under it.
    func finish() {
        guard live else { return }
        drawn = 0
        if let ending { line(ending) }
    }

    private func emit(_ text: String) {
        if live {
            clear()
            line(text)
            redraw()
        } else {
            line("\(WallClockTime.now()) \(text)")
        }
    }

    private func clear() {
        guard drawn > 0 else { return }
        var text = ""
        for _ in 0..<drawn { text += "\u{1B}[1A\u{1B}[2K" }
        write(1, text, text.utf8.count)
        drawn = 0
    }

    private func redraw() {
        clear()
        let width = hosts.map(\.count).max() ?? 0
        for host in hosts {
            line(host + String(repeating: " ", count: width - host.count) + "  " + (states[host]?.text ?? ""))
        }
        let finished: Set = ["updated", "unchanged", "failed", "reverted", "revert_failed", "skipped"]
        let done = hosts.filter { finished.contains(states[$0]?.state ?? "") }.count
        let total = max(1, hosts.count)
        let filled = done * 30 / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled)
        line("[\(bar)] \(done)/\(hosts.count) hosts" + (phase.map { "  \($0)" } ?? ""))
        drawn = hosts.count + 1
    }
}

/// The message the SIGINT handler writes: set before the handler can run, read only by it.
nonisolated(unsafe) private var detachNote: UnsafeMutablePointer<CChar>?
