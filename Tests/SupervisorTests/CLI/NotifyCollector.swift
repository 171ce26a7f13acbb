import ReleaseSupervisor
import Foundation
import Synchronization

/// Reads a `NotifySocket` on a thread of its own for as long as it lives, so the daemon under test never
/// finds the socket full (its queue is as short as 10 datagrams on some machines) while the test does other
/// things; tests then poll what arrived.
final class NotifyCollector: Sendable {
    private let socket: NotifySocket
    private let received = Locked<[String]>([])
    private let running = Atomic<Bool>(true)

    init(_ socket: NotifySocket) {
        self.socket = socket
        let thread = Thread { [self] in
            while running.load(ordering: .relaxed) {
                if let message = socket.receive(timeout: .milliseconds(100)) { received.withLock { $0.append(message) } }
            }
        }
        thread.start()
    }

    var messages: [String] { received.withLock { $0 } }

    /// Waits for a message containing `text` that arrived after the first `index` messages; returns its index.
    func waitFor(_ text: String, after index: Int = 0, timeout: Duration = .seconds(10)) async -> Int? {
        var found: Int?
        _ = await eventually(timeout: timeout, every: .milliseconds(10)) {
            let all = self.messages
            found = all.indices.first { $0 >= index && all[$0].contains(text) }
            return found != nil
        }
        return found
    }

    func stop() { running.store(false, ordering: .relaxed) }
}
