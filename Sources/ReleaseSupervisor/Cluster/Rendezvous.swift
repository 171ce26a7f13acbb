/// Which member owns a pair: rendezvous (highest random weight) hashing on (release, host). Every member
/// computes the same answer from the same member list, and when a member joins or leaves only the pairs it
/// gains or held change hands.
public enum Rendezvous {
    /// The owner of `pair` among `members`, or nil when there is none.
    public static func owner(of pair: ReleaseHost, among members: [String]) -> String? {
        var best: (weight: UInt64, member: String)?
        for member in members {
            let weight = self.weight(member: member, pair: pair)
            if let current = best, current.weight > weight || (current.weight == weight && current.member < member) {
                continue
            }
            best = (weight, member)
        }
        return best?.member
    }

    /// A stable 64-bit weight (FNV-1a over the member, release and host names, then a finaliser): the same
    /// on every machine and every run, unlike Swift's seeded `Hasher`.
    static func weight(member: String, pair: ReleaseHost) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in [member, pair.release, pair.host] {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01B3
            }
            hash ^= 0xFF  // a separator no name holds, so ("ab", "c") and ("a", "bc") differ
            hash &*= 0x0000_0100_0000_01B3
        }
        // splitmix64's finaliser spreads FNV's weak low bits.
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}
