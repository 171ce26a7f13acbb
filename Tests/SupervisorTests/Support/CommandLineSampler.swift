import ReleaseSupervisor
import Synchronization
import Foundation

/// Reads every process's command line (`/proc/*/cmdline`) every `interval` on a thread of its own, and keeps
/// each one that holds `needle`: what any local user of a host could see with `ps`.
final class CommandLineSampler: Sendable {
    struct Sighting: Sendable, CustomStringConvertible {
        var pid: Int32
        var commandLine: String
        var description: String { "pid \(pid): \(commandLine.prefix(200))" }
    }

    private let needle: [UInt8]
    private let interval: Duration
    private let state = Locked<(running: Bool, samples: Int, sightings: [Sighting])>((true, 0, []))
    private let finished = Locked<Bool>(false)

    init(needle: String, interval: Duration = .milliseconds(10)) {
        self.needle = Array(needle.utf8)
        self.interval = interval
        let thread = Thread { [self] in run() }
        thread.start()
    }

    /// Passes over /proc so far.
    var samples: Int { state.withLock { $0.samples } }
    /// The command lines that held the needle.
    var sightings: [Sighting] { state.withLock { $0.sightings } }

    func forget() { state.withLock { $0.sightings.removeAll() } }

    /// Stops sampling; returns once the thread has ended.
    func stop() {
        state.withLock { $0.running = false }
        while !finished.withLock({ $0 }) { usleep(1_000) }
    }

    private func run() {
        let me = getpid()
        let pause = UInt32(interval.components.attoseconds / 1_000_000_000_000) + UInt32(interval.components.seconds) * 1_000_000
        while state.withLock({ $0.running }) {
            var found: [Sighting] = []
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), pid != me,
                    let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                    Self.contains(Array(data), needle)
                else { continue }
                let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
                found.append(Sighting(pid: pid, commandLine: line))
            }
            state.withLock {
                $0.samples += 1
                $0.sightings += found
            }
            usleep(pause)
        }
        finished.withLock { $0 = true }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
        }
        return false
    }
}
