/// What a daemon asks right before it changes a host (starts, stops, uploads to or removes from it): in a
/// cluster, whether its lease and ownership of the pair are still confirmed, so that no two daemons act on
/// one pair. The answer is nil to go ahead, else why not.
public struct ActionGate: Sendable {
    let confirm: @Sendable (_ action: String) async -> String?

    /// A gate that asks `confirm` with a description of the action, such as `start of web on host1`.
    public init(_ confirm: @escaping @Sendable (_ action: String) async -> String?) {
        self.confirm = confirm
    }
}
