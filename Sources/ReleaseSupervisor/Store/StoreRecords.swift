/// Who asked for an operation: a caller on the control socket (by its SO_PEERCRED uid), or the configuration.
public struct Requester: Sendable, Equatable, CustomStringConvertible {
    /// The caller's uid; nil for the configuration.
    public var uid: UInt32?
    /// The caller's user name, when the system knows it.
    public var user: String?

    /// A request made by the configuration (a changed `version` on reload, or the first start).
    public static let configuration = Requester(uid: nil, user: nil)

    /// A caller of the control socket.
    public init(uid: UInt32?, user: String?) {
        self.uid = uid
        self.user = user
    }

    /// `uid 0 (root)`, or `config`.
    public var description: String {
        guard let uid else { return "config" }
        return "uid \(uid)" + (user.map { " (\($0))" } ?? "")
    }
}

/// What an operation of the history did.
public enum OperationKind: String, Sendable, Equatable, CaseIterable {
    /// A rollout of a version from the registry, asked for on the command line.
    case deploy
    /// A rollout back to the version that ran before.
    case rollback
    /// A rollout of the configuration's `version`, on a reload or the first start.
    case config
    /// An operator's start, stop or restart of one release.
    case start, stop, restart

    /// Whether the operation is a rollout (staged, gated, revertible) rather than a plain request.
    public var isRollout: Bool { self == .deploy || self == .rollback || self == .config }
}

/// Where an operation stands, or how it ended.
public enum OperationResult: String, Sendable, Equatable, CaseIterable {
    /// In progress.
    case running
    /// A rollout whose canaries are done, waiting for `controlnode rollout promote` or `abort`.
    case awaitingPromotion = "awaiting_promotion"
    /// Every host succeeded.
    case succeeded
    /// A host failed and nothing was reverted (auto_revert off, or the revert failed too).
    case failed
    /// A host failed and every changed host was put back on its previous version.
    case reverted
    /// An operator aborted it; every changed host was put back.
    case aborted
    /// The daemon stopped in the middle; the next start resumes it.
    case interrupted

    /// Whether the operation has ended for good (it will not be resumed).
    public var isFinal: Bool {
        switch self {
        case .running, .awaitingPromotion, .interrupted: false
        case .succeeded, .failed, .reverted, .aborted: true
        }
    }
}

/// One host's part in an operation.
public struct HostStep: Sendable, Equatable {
    /// Where the host stands.
    public enum Outcome: String, Sendable, Equatable, CaseIterable {
        /// Not touched yet.
        case pending
        /// The new version is uploaded and extracted; nothing stopped.
        case staged
        /// Being changed: stopped, started, or watched for `min_healthy_time`.
        case updating
        /// Changed and healthy.
        case updated
        /// Already on the version: nothing was done.
        case unchanged
        /// The change failed on this host.
        case failed
        /// Being put back on its previous version.
        case reverting
        /// Put back on its previous version.
        case reverted
        /// Putting it back failed too.
        case revertFailed = "revert_failed"
        /// Not done because the operation stopped first.
        case skipped
    }

    /// The host's name.
    public var host: String
    /// The host's place in the rollout's order.
    public var position: Int
    /// The version it ran before, when known.
    public var from: ReleaseVersion?
    /// The version it is to run.
    public var to: ReleaseVersion?
    /// Where it stands.
    public var outcome: Outcome
    /// Why it failed, for an operator.
    public var error: String?

    /// A step of `host`, `pending` unless told.
    public init(
        host: String, position: Int, from: ReleaseVersion?, to: ReleaseVersion?, outcome: Outcome = .pending,
        error: String? = nil
    ) {
        self.host = host
        self.position = position
        self.from = from
        self.to = to
        self.outcome = outcome
        self.error = error
    }
}

/// One record of the history: an operator's request or a rollout, with every host's outcome.
public struct OperationRecord: Sendable, Equatable {
    /// The record's number (`deploy #12`), assigned by the store.
    public var id: Int64
    /// The release.
    public var release: String
    /// What it did.
    public var kind: OperationKind
    /// The version it moves to (nil for start, stop and restart).
    public var version: ReleaseVersion?
    /// Who asked.
    public var requester: Requester
    /// When it began.
    public var startedAt: WallClockTime
    /// When it ended, once it has.
    public var endedAt: WallClockTime?
    /// Where it stands, or how it ended.
    public var result: OperationResult
    /// Why it failed, for an operator.
    public var error: String?
    /// The rollout's settings, as the rollout layer wrote them (so that a resumed rollout keeps them).
    public var settings: String?
    /// The rollout's phase, as the rollout layer wrote it (so that a restarted daemon resumes there).
    public var phase: String?
    /// Every host, in the rollout's order.
    public var hosts: [HostStep]

    /// A record not yet stored (`id` 0), begun now and running.
    public init(
        release: String, kind: OperationKind, version: ReleaseVersion?, requester: Requester, hosts: [HostStep],
        settings: String? = nil, phase: String? = nil
    ) {
        id = 0
        self.release = release
        self.kind = kind
        self.version = version
        self.requester = requester
        startedAt = .now()
        result = .running
        self.settings = settings
        self.phase = phase
        self.hosts = hosts
    }

    /// `deploy #12 by uid 0 (root)`, or `config` for a rollout the configuration asked for.
    public var summary: String {
        requester.uid == nil ? "config" : "\(kind.rawValue) #\(id) by \(requester)"
    }
}

/// The version a (release, host) should run, and what set it.
public struct DesiredVersion: Sendable, Equatable {
    /// The version.
    public var version: ReleaseVersion
    /// What set it, as `status` shows it: `config`, or `deploy #12 by uid 0 (root)`.
    public var setBy: String
    /// The operation that set it, if one did.
    public var operation: Int64?

    /// A desired version set by `setBy`.
    public init(version: ReleaseVersion, setBy: String, operation: Int64?) {
        self.version = version
        self.setBy = setBy
        self.operation = operation
    }
}

/// A version that failed a rollout of a release: reloads naming it are refused until a forced deploy.
public struct QuarantinedVersion: Sendable, Equatable {
    /// The release.
    public var release: String
    /// The version.
    public var version: ReleaseVersion
    /// The rollout it failed in.
    public var operation: Int64?
    /// Why, for an operator.
    public var reason: String
    /// When.
    public var at: WallClockTime
}
