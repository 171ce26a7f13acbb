extension RemoteRelease {
    /// Finds the release in the host's EPMD; when it is registered, connects to its node with the release
    /// cookie as a hidden node (monitored: the link's events end with `nodedown`), reads its version, path
    /// and OS pid, and returns the running state with the link; otherwise `not_running` and no link.
    ///
    /// - Parameter tunnel: also open a local tunnel to the node's distribution port (mode `connect`).
    public func initializeState(
        tickTimeout: Duration = .seconds(15), tunnel: Bool = false,
        onDown: (@Sendable (NodeDownReason) -> Void)? = nil
    ) async throws(ReleaseError) -> (state: ReleaseState, link: ReleaseLink?) {
        var state = ReleaseState(release: release.name, host: host.name)
        guard let (info, link) = try await registeredAndConnected(tickTimeout: tickTimeout, tunnel: tunnel) else {
            return (state, nil)
        }
        link.start(onDown: onDown ?? { _ in })
        do {
            try await describe(into: &state, over: link.connection)
        } catch {
            await link.close()
            throw error
        }
        state.status = .running
        state.distributionPort = info.port
        state.localTunnelPort = link.tunnel?.port
        return (state, link)
    }

    /// The registration and a connection to it; nil when the release is not registered, or when it is
    /// registered but its port refuses: a node that just died whose EPMD entry has not gone yet.
    private func registeredAndConnected(tickTimeout: Duration, tunnel: Bool) async throws(ReleaseError)
        -> (EPMDNodeInfo, ReleaseLink)?
    {
        for attempt in 0..<20 {
            guard let info = try await registration() else { return nil }
            do {
                return (info, try await connect(port: info.port, tickTimeout: tickTimeout, tunnel: tunnel, start: false))
            } catch {
                let refused = (error.underlyingError as? SSHError)?.code == .channelOpenFailed
                guard refused, attempt < 19 else { throw error }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        return nil
    }

    /// A local port (on 127.0.0.1, ephemeral) forwarded through the SSH connection to the release's
    /// distribution port on the host.
    ///
    /// - Throws: `releaseNotRunning` when the release is not registered in EPMD.
    public func setupTunnel() async throws(ReleaseError) -> LocalForward {
        guard let info = try await registration() else {
            throw error(.releaseNotRunning, "not registered in EPMD on the host; deploy or start it first")
        }
        do {
            return try await ssh.forwardLocalPort(to: "127.0.0.1", port: info.port)
        } catch {
            throw self.error(.unreachable, "could not open a tunnel to distribution port \(info.port)", error)
        }
    }

    /// Connects to the release's node at distribution `port` on the host, straight over an SSH channel.
    public func connect(port: UInt16, tickTimeout: Duration = .seconds(15), tunnel: Bool = false)
        async throws(ReleaseError) -> ReleaseLink
    {
        try await connect(port: port, tickTimeout: tickTimeout, tunnel: tunnel, start: true)
    }

    private func connect(port: UInt16, tickTimeout: Duration, tunnel: Bool, start: Bool)
        async throws(ReleaseError) -> ReleaseLink
    {
        let guess = try await nodeName()
        let connection: DistributionConnection
        do {
            connection = try await handshake(port: port, peer: guess, tickTimeout: tickTimeout)
        } catch let error where !guess.usesLongNames && error.code == .distributionFailed {
            // A node started with long names (RELEASE_DISTRIBUTION=name, as clustered releases mostly are) may not
            // take a short-named caller: call it again as a long-named node, accepting the name it gives.
            guard let long = try? NodeName(alive: release.name, host: "\(guess.host).invalid") else { throw error }
            guard let retried = try? await handshake(port: port, peer: long, tickTimeout: tickTimeout) else {
                throw error
            }
            connection = retried
        }
        var forward: LocalForward?
        if tunnel {
            forward = try? await ssh.forwardLocalPort(to: "127.0.0.1", port: port)
        }
        let link = ReleaseLink(connection: connection, tunnel: forward)
        if start { link.start(onDown: { _ in }) }
        return link
    }

    /// One handshake with the node at `port`, accepting the name it gives if its alive part is the release's:
    /// EPMD registers only that part, and a long-named node's host part can be an IP address or a FQDN.
    private func handshake(port: UInt16, peer: NodeName, tickTimeout: Duration) async throws(ReleaseError)
        -> DistributionConnection
    {
        do {
            let channel = try await ssh.openChannel(host: "127.0.0.1", port: port)
            var configuration = DistributionConfiguration(cookie: release.cookie, tickTimeout: tickTimeout)
            // Also when the name is known: a release redeployed under another host part is still the release.
            configuration.acceptsAnyPeerHost = true
            return try await DistributionConnection.connect(
                over: channel, to: peer, configuration: configuration, logger: logger)
        } catch let error as DistributionError {
            throw self.error(.distributionFailed, "could not connect to \(peer)", error)
        } catch {
            throw self.error(.unreachable, "could not reach distribution port \(port) of \(peer)", error as? SSHError)
        }
    }

    /// Closes the link: monitoring ends and the tunnel closes; the release keeps running.
    public func terminateState(_ link: ReleaseLink) async {
        await link.close()
    }

    /// The node name of the release on the host, once known; until then the guess `<name>@<host's short name>`,
    /// which the handshake corrects to the name the node gives (`handshake(port:peer:tickTimeout:)`).
    public func nodeName() async throws(ReleaseError) -> NodeName {
        if let knownNodeName { return knownNodeName }
        let shortName: String
        do {
            shortName = try await ssh.shortHostName()
        } catch {
            throw self.error(.unreachable, "could not read the host name", error)
        }
        do {
            return try NodeName(alive: release.name, host: shortName)
        } catch {
            throw self.error(.distributionFailed, "the host name \(shortName) does not make a node name", error)
        }
    }

    /// Reads the running node's version, release path and OS pid, with three concurrent RPCs.
    func describe(into state: inout ReleaseState, over connection: DistributionConnection) async throws(ReleaseError) {
        let name = Atom(release.name)
        do {
            async let vsn = connection.rpc("application", "get_key", [.atom(name), "vsn"], timeout: .seconds(5))
            async let root = connection.rpc("code", "root_dir", timeout: .seconds(5))
            async let pid = connection.rpc("os", "getpid", timeout: .seconds(5))
            let (vsnTerm, rootTerm, pidTerm) = try await (vsn, root, pid)
            state.nodeName = connection.peer
            state.releasePath = rootTerm.stringValue
            state.osPid = pidTerm.stringValue.flatMap { Int32($0) }
            if let elements = vsnTerm.tupleElements, elements.count == 2, let text = elements[1].stringValue {
                state.version = ReleaseVersion(text)
            } else {
                state.version = try await versionFromReleaseHandler(connection)
            }
        } catch let error as DistributionError {
            throw self.error(.distributionFailed, "could not read the node's version, path and pid", error)
        } catch let error as ReleaseError {
            throw error
        } catch {
            throw self.error(.distributionFailed, "could not read the node's version, path and pid")
        }
        state.connectedSince = WallClockTime.now()
    }

    /// The permanent (or current) release's version from `release_handler:which_releases/0`, for releases
    /// whose name is not an application (umbrellas).
    private func versionFromReleaseHandler(_ connection: DistributionConnection) async throws -> ReleaseVersion? {
        let releases = try await connection.rpc("release_handler", "which_releases", timeout: .seconds(5))
        for status in ["current", "permanent"] {
            for entry in releases.listElements ?? [] {
                guard let fields = entry.tupleElements, fields.count == 4, fields[3] == .atom(Atom(status)) else { continue }
                if let text = fields[1].stringValue { return ReleaseVersion(text) }
            }
        }
        return nil
    }
}
