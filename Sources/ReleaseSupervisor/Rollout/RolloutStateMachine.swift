/// The decisions of one rollout, without any I/O: which hosts to stage, change, or put back next, when to wait
/// for promotion, when to quarantine the version, and how the rollout ends. `RolloutEngine` feeds it what
/// happened (`handle`) and carries out the actions it returns; every step it changes is stored before the
/// engine acts on it, so a daemon restarted in any phase resumes from the stored steps (`init(resuming:)`).
///
/// Phases: `staging` (upload and extract on every target host, at most 8 at once, nothing stopped) →
/// `updating` (at most `max_parallel` running hosts down at once; the first `canary` hosts, then
/// `awaiting_promotion`) → `done`; a failure or an abort stops new changes, lets the hosts in flight finish, and
/// goes through `reverting` (every changed host back on its previous version) when `auto_revert` or an abort
/// asks for it.
public struct RolloutStateMachine: Sendable, Equatable {
    /// Where the rollout is.
    public enum Phase: String, Sendable, Equatable {
        case staging, updating
        case awaitingPromotion = "awaiting_promotion"
        case reverting, done
    }

    /// What happened to a host.
    public enum Event: Sendable, Equatable {
        case staged(String)
        case stageFailed(String, reason: String)
        case updated(String)
        /// `versionAtFault`: the new version did not come up or stay healthy (not a host or network problem).
        case updateFailed(String, reason: String, versionAtFault: Bool)
        case reverted(String)
        case revertFailed(String, reason: String)
        /// An operator's `rollout promote`.
        case promote
        /// An operator's `rollout abort`.
        case abort
        /// The daemon is stopping: finish what is in flight, start nothing new.
        case interrupt
    }

    /// What the engine does next.
    public enum Action: Sendable, Equatable {
        /// Upload and extract the version on the host; answer with `staged` or `stageFailed`.
        case stage(String)
        /// Change the host to the version and watch it for `min_healthy_time`; answer `updated` or `updateFailed`.
        case update(String)
        /// Put the host back on `to` (nil: stop it, nothing ran before); answer `reverted` or `revertFailed`.
        case revert(String, to: ReleaseVersion?)
        /// The canaries are done: wait for `promote` or `abort`.
        case awaitPromotion
        /// Quarantine the version the host was changed to, with the reason.
        case quarantine(String, reason: String)
        /// The rollout has ended (or, for `interrupted`, stopped until the daemon resumes it).
        case finish(OperationResult)
    }

    private enum Stop: Sendable, Equatable {
        case failed(String)
        case aborted
    }

    /// How many hosts are staged at once.
    public static let stagingConcurrency = 8

    /// Where it is.
    public private(set) var phase: Phase
    /// Every host, in the rollout's order.
    public private(set) var steps: [HostStep]
    /// How it ended, once `done`.
    public private(set) var result: OperationResult?
    /// The first failure, for an operator.
    public private(set) var error: String?
    /// Whether the canaries have been promoted (always true without canaries).
    public private(set) var promoted: Bool
    private let policy: UpdatePolicy
    private let idle: Set<String>
    private var stop: Stop?
    private var interrupting = false
    private var inFlight: Set<String> = []
    private var quarantined = false

    /// A new rollout of `steps` (each `pending`, or `unchanged` for a host already on the version).
    ///
    /// - Parameter idle: hosts that run nothing of the release; changing them takes nothing down.
    public init(steps: [HostStep], policy: UpdatePolicy, idle: Set<String>) {
        self.steps = steps
        self.policy = policy
        self.idle = idle
        let staging = policy.stage && steps.contains { $0.outcome == .pending }
        phase = staging ? .staging : .updating
        promoted = policy.canary == 0
    }

    /// A rollout read back from the store after a restart: `checkpoint` as it was stored, its steps as recorded.
    /// Hosts that were in flight are taken up again first.
    public init(resuming steps: [HostStep], checkpoint: String, error: String?, policy: UpdatePolicy, idle: Set<String>) {
        self.init(steps: steps, policy: policy, idle: idle)
        let words = checkpoint.split(separator: " ").map(String.init)
        phase = words.first.flatMap(Phase.init(rawValue:)) ?? .updating
        promoted = promoted || words.contains("promoted")
        if words.contains("aborted") {
            stop = .aborted
        } else if words.contains("failed") {
            stop = .failed(error ?? "failed before the daemon restarted")
        }
        self.error = error
        quarantined = words.contains("quarantined")
        if phase == .done { result = .failed }
    }

    /// What the store keeps to resume: the phase and what it cannot read off the steps.
    public var checkpoint: String {
        var words = [phase.rawValue]
        if promoted && policy.canary > 0 { words.append("promoted") }
        switch stop {
        case .failed: words.append("failed")
        case .aborted: words.append("aborted")
        case nil: break
        }
        if quarantined { words.append("quarantined") }
        return words.joined(separator: " ")
    }

    /// The step of `host`.
    public func step(_ host: String) -> HostStep? { steps.first { $0.host == host } }

    /// The first actions of a new or resumed rollout.
    public mutating func start() -> [Action] {
        if phase == .awaitingPromotion && stop == nil { return [.awaitPromotion] }
        return next()
    }

    /// Takes in what happened and returns what to do next.
    public mutating func handle(_ event: Event) -> [Action] {
        guard phase != .done else { return [] }
        var actions: [Action] = []
        switch event {
        case .staged(let host):
            settle(host, .staged, nil)
        case .stageFailed(let host, let reason):
            settle(host, .failed, reason)
            halt(.failed("staging on \(host) failed: \(reason)"))
        case .updated(let host):
            settle(host, .updated, nil)
        case .updateFailed(let host, let reason, let versionAtFault):
            settle(host, .failed, reason)
            halt(.failed("\(host): \(reason)"))
            if versionAtFault && !quarantined {
                quarantined = true
                actions.append(.quarantine(host, reason: "\(host): \(reason)"))
            }
        case .reverted(let host):
            settle(host, .reverted, nil)
        case .revertFailed(let host, let reason):
            settle(host, .revertFailed, reason)
        case .promote:
            guard phase == .awaitingPromotion || (phase == .updating && !promoted) else { return [] }
            promoted = true
            if phase == .awaitingPromotion { phase = .updating }
        case .abort:
            halt(.aborted)
            if phase == .awaitingPromotion { phase = .updating }
        case .interrupt:
            interrupting = true
        }
        return actions + next()
    }

    /// Whether `promote` would do anything now.
    public var canPromote: Bool { phase == .awaitingPromotion || (phase == .updating && !promoted && stop == nil) }

    private mutating func settle(_ host: String, _ outcome: HostStep.Outcome, _ reason: String?) {
        inFlight.remove(host)
        guard let index = steps.firstIndex(where: { $0.host == host }) else { return }
        steps[index].outcome = outcome
        steps[index].error = reason
    }

    private mutating func halt(_ reason: Stop) {
        guard stop == nil else { return }
        stop = reason
        if case .failed(let text) = reason { error = text }
        if reason == .aborted { error = error ?? "aborted by an operator" }
    }

    private mutating func mark(_ host: String, _ outcome: HostStep.Outcome) {
        inFlight.insert(host)
        if let index = steps.firstIndex(where: { $0.host == host }) { steps[index].outcome = outcome }
    }

    private mutating func next() -> [Action] {
        if interrupting {
            guard inFlight.isEmpty else { return [] }
            return [.finish(.interrupted)]
        }
        switch phase {
        case .staging: return nextStaging()
        case .updating: return nextUpdating()
        case .reverting: return nextReverting()
        case .awaitingPromotion, .done: return []
        }
    }

    private mutating func nextStaging() -> [Action] {
        if stop != nil {
            guard inFlight.isEmpty else { return [] }
            return finish(.failed)  // nothing was stopped: there is nothing to put back
        }
        let waiting = steps.filter { $0.outcome == .pending && !inFlight.contains($0.host) }
        if waiting.isEmpty && inFlight.isEmpty {
            phase = .updating
            return nextUpdating()
        }
        let room = Self.stagingConcurrency - inFlight.count
        return waiting.prefix(max(0, room)).map { step in
            inFlight.insert(step.host)
            return .stage(step.host)
        }
    }

    private mutating func nextUpdating() -> [Action] {
        if let stop {
            guard inFlight.isEmpty else { return [] }
            if stop == .aborted || policy.autoRevert {
                phase = .reverting
                return nextReverting()
            }
            return finish(.failed)
        }
        // Hosts in flight when the daemon stopped come first, then the rest in order.
        var waiting = steps.filter { [.pending, .staged, .updating].contains($0.outcome) && !inFlight.contains($0.host) }
        waiting.sort { ($0.outcome == .updating ? 0 : 1, $0.position) < ($1.outcome == .updating ? 0 : 1, $1.position) }
        if !promoted {
            let canaries = Set(steps.filter { $0.outcome != .unchanged }.prefix(policy.canary).map(\.host))
            waiting.removeAll { !canaries.contains($0.host) }
            if waiting.isEmpty && inFlight.isEmpty {
                if policy.autoPromote {
                    promoted = true
                    return nextUpdating()
                }
                phase = .awaitingPromotion
                return [.awaitPromotion]
            }
        }
        if waiting.isEmpty && inFlight.isEmpty { return finish(.succeeded) }
        var down = inFlight.filter { !idle.contains($0) }.count
        var actions: [Action] = []
        for step in waiting {
            let takesDown = !idle.contains(step.host)
            if takesDown && down >= policy.maxParallel { continue }
            if takesDown { down += 1 }
            mark(step.host, .updating)
            actions.append(.update(step.host))
        }
        return actions
    }

    private mutating func nextReverting() -> [Action] {
        let changed = steps.filter {
            [.updated, .failed, .reverting].contains($0.outcome) && !inFlight.contains($0.host) && $0.to != $0.from
        }
        if changed.isEmpty && inFlight.isEmpty {
            let putBack = !steps.contains { $0.outcome == .revertFailed }
            return finish(stop == .aborted ? (putBack ? .aborted : .failed) : (putBack ? .reverted : .failed))
        }
        var room = max(0, policy.maxParallel - inFlight.count)
        var actions: [Action] = []
        for step in changed where room > 0 || idle.contains(step.host) {
            if !idle.contains(step.host) { room -= 1 }
            mark(step.host, .reverting)
            actions.append(.revert(step.host, to: step.from))
        }
        return actions
    }

    private mutating func finish(_ outcome: OperationResult) -> [Action] {
        phase = .done
        result = outcome
        for index in steps.indices where [.pending, .staged].contains(steps[index].outcome) {
            steps[index].outcome = .skipped
        }
        return [.finish(outcome)]
    }
}
