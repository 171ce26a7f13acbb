import Synchronization
import ReleaseSupervisor

/// What the control socket allows one caller, and all of them together.
///
/// Every caller is someone the socket's permissions and SO_PEERCRED let in (root, the daemon's user, the
/// `controlnode` group), but one of them, by mistake or not, must not be able to stall the others or the
/// supervision: a request has a total deadline, every reply line a send timeout, and the connections and tunnels
/// held at once are capped.
enum ControlLimits {
    /// Time from accepting a connection to the end of its request line.
    static let requestDeadline: Duration = .seconds(5)
    /// The longest request line, newline excluded (a request names a release, a version and some hosts).
    static let requestBytes = 64 * 1024
    /// Time a caller has to take each reply line (each line of a followed rollout too) before it is dropped.
    static let sendTimeout: Duration = .seconds(10)
    /// Connections served at once, held tunnels and followed rollouts included.
    static let clients = 64
    /// Tunnels and remote shells held open at once; fewer than `clients`, so they alone cannot lock other requests out.
    static let tunnels = 16

    /// `5 s`: a limit as the control socket's messages and logs say it.
    static func text(_ limit: Duration) -> String { "\(limit.components.seconds) s" }
}

/// Counts the connections and tunnels being served against `ControlLimits`.
///
/// A slot is taken before any work is done for a caller (on the accept thread for a connection, before the SSH
/// forward for a tunnel) and given back by whoever took it once that caller is gone.
final class ControlAdmission: Sendable {
    /// What a slot is for.
    enum Slot: Sendable {
        case client, tunnel

        var limit: Int {
            switch self {
            case .client: ControlLimits.clients
            case .tunnel: ControlLimits.tunnels
            }
        }

        /// What a caller turned away is told: the limit, and what to do.
        var refusal: String {
            switch self {
            case .client:
                "busy: the daemon is serving \(limit) control connections, its limit; retry in a moment (each open "
                    + "`controlnode tunnel` and each followed deploy or rollback holds one: end those not needed, or "
                    + "deploy with --detach)"
            case .tunnel:
                "too many tunnels: \(limit) are open, the daemon's limit (remote shells count too); end a "
                    + "`controlnode tunnel` or `controlnode remote` that is no longer needed and retry"
            }
        }
    }

    private let open = Locked<[Slot: Int]>([:])

    /// Takes a slot; false when all are taken.
    func enter(_ slot: Slot) -> Bool {
        open.withLock { open in
            guard open[slot, default: 0] < slot.limit else { return false }
            open[slot, default: 0] += 1
            return true
        }
    }

    /// Gives back a slot taken by `enter`.
    func leave(_ slot: Slot) {
        open.withLock { $0[slot, default: 0] -= 1 }
    }
}
