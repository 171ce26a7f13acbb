/// What the operations stepped on the session thread ask of it: the one channel-open slot, and their libssh2 errors
/// as `SSHError`s.
extension SessionLoop {
    /// Takes the session's channel-open slot for `operation`; false while another operation holds it.
    ///
    /// One operation at a time may wait for the server's answer to a channel open or to a channel request (exec,
    /// subsystem): libssh2 keeps one open state per session, and a waiter that reads another channel's answer of
    /// the same kind fails (libssh2 1.10 returns -1, "Failed waiting for channel success"), so concurrent commands
    /// on one connection would fail at random.
    func acquireOpenSlot(_ operation: AnyObject) -> Bool {
        let identifier = ObjectIdentifier(operation)
        if openSlotHolder == nil || openSlotHolder == identifier {
            openSlotHolder = identifier
            return true
        }
        return false
    }

    /// Whether `operation` holds the open slot: a channel open it started is still in libssh2's hands, and must
    /// be driven to its end (libssh2 keeps one open state per session) before anything else opens a channel.
    func holdsOpenSlot(_ operation: AnyObject) -> Bool {
        openSlotHolder == ObjectIdentifier(operation)
    }

    /// Gives the open slot back.
    func releaseOpenSlot(_ operation: AnyObject) {
        if openSlotHolder == ObjectIdentifier(operation) { openSlotHolder = nil }
    }

    /// libssh2's last error, as an `SSHError` of `code` about `what`; transport failures say the connection died.
    func failure(_ code: SSHError.Code, _ what: String) -> SSHError {
        let (libssh2Code, message) = session.lastError
        return SSHError(code, host: settings.endpoint, detail: what, libssh2Code: libssh2Code, libssh2Message: message)
    }

    /// The step result for a libssh2 call that returned `rc` < 0 (other than EAGAIN): a transport failure ends the
    /// connection; anything else is the operation's own failure, returned for it to report.
    func classify(_ rc: Int32, _ code: SSHError.Code, _ what: String) -> (SSHError, fatal: Bool) {
        if LibSSH2Code.isTransportFailure(rc) {
            return (failure(.connectionLost, "connection lost while \(what)"), true)
        }
        return (failure(code, what), false)
    }
}
