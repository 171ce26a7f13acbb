/// A keepalive that the server must answer: a request to open a channel of a type no server knows.
///
/// libssh2's own keepalive asks for a reply that libssh2 then keeps forever in its packet list (one per
/// interval, a slow leak in a daemon); the refusal of a channel open is consumed by libssh2 itself. Any bytes
/// from the server count as a sign of life, so the probe is only sent when the connection has been silent.
final class KeepaliveProbe: SessionOperation, @unchecked Sendable {
    // @unchecked: stepped only on the session thread; `onFinish` is called there too.
    private static let channelType = "keepalive@controlnode"
    private let onFinish: @Sendable () -> Void

    init(onFinish: @escaping @Sendable () -> Void) {
        self.onFinish = onFinish
    }

    func step(_ loop: SessionLoop) -> StepResult {
        guard loop.acquireOpenSlot(self) else { return .idle }
        if let channel = loop.session.openChannel(type: Self.channelType) {
            // A server that accepts the type: close what it opened.
            _ = channel.free()
            return finish(loop)
        }
        let rc = loop.session.lastErrorCode
        if rc == LibSSH2Code.wouldBlock { return .wouldBlock }
        if LibSSH2Code.isTransportFailure(rc) {
            loop.releaseOpenSlot(self)
            return .transportFailed(loop.failure(.connectionLost, "connection lost while probing the server"))
        }
        return finish(loop)
    }

    private func finish(_ loop: SessionLoop) -> StepResult {
        loop.releaseOpenSlot(self)
        onFinish()
        return .finished
    }

    func abandon(_ error: SSHError) {}
}
