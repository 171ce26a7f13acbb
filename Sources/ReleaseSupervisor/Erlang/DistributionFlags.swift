/// The capability flags nodes exchange in the handshake (the DFLAG_* bits of the distribution protocol).
struct DistributionFlags: OptionSet, Sendable, Hashable {
    let rawValue: UInt64

    static let published = Self(rawValue: 0x1)
    static let extendedReferences = Self(rawValue: 0x4)
    static let distMonitor = Self(rawValue: 0x8)
    static let funTags = Self(rawValue: 0x10)
    static let distMonitorName = Self(rawValue: 0x20)
    static let newFunTags = Self(rawValue: 0x80)
    static let extendedPidsPorts = Self(rawValue: 0x100)
    static let exportPointerTag = Self(rawValue: 0x200)
    static let bitBinaries = Self(rawValue: 0x400)
    static let newFloats = Self(rawValue: 0x800)
    static let unicodeIO = Self(rawValue: 0x1000)
    static let smallAtomTags = Self(rawValue: 0x4000)
    static let utf8Atoms = Self(rawValue: 0x10000)
    static let mapTag = Self(rawValue: 0x20000)
    static let bigCreation = Self(rawValue: 0x40000)
    static let sendSender = Self(rawValue: 0x80000)
    static let bigSeqtraceLabels = Self(rawValue: 0x100000)
    static let exitPayload = Self(rawValue: 0x400000)
    static let fragments = Self(rawValue: 0x800000)
    static let handshake23 = Self(rawValue: 0x1000000)
    static let unlinkID = Self(rawValue: 0x2000000)
    static let spawn = Self(rawValue: 1 << 32)
    static let nameMe = Self(rawValue: 1 << 33)
    static let v4NodeContainers = Self(rawValue: 1 << 34)
    static let alias = Self(rawValue: 1 << 35)
    static let mandatory25Digest = Self(rawValue: 1 << 36)

    /// What OTP 25 refuses to connect without.
    static let mandatoryOTP25: Self = [
        .extendedReferences, .funTags, .newFunTags, .extendedPidsPorts, .exportPointerTag, .bitBinaries,
        .newFloats, .utf8Atoms, .mapTag, .bigCreation, .handshake23,
    ]
    /// What OTP 26 and 27 add to that.
    static let mandatoryOTP26: Self = [.v4NodeContainers, .unlinkID]

    /// What this client announces: a hidden node (not published) with no atom cache and no fragments.
    static let ours: Self = mandatoryOTP25.union(mandatoryOTP26).union([
        .distMonitor, .distMonitorName, .unicodeIO, .smallAtomTags, .sendSender, .bigSeqtraceLabels,
        .exitPayload, .mandatory25Digest,
    ])

    /// What the peer must announce for this client to work with it.
    static let requiredOfPeer: Self = [
        .extendedReferences, .distMonitor, .distMonitorName, .extendedPidsPorts, .utf8Atoms, .mapTag, .bigCreation,
        .handshake23,
    ]
}
