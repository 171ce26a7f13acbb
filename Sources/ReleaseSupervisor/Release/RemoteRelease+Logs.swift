extension RemoteRelease {
    /// The directory run_erl writes the release's logs to: `tmp/log` of the running release's root, or of the
    /// version `current` points at.
    public func logDirectory(releasePath: String?) -> String {
        "\(releasePath ?? "\(release.basePath)/current")/tmp/log"
    }

    /// Runs one `LogPoll` on the host with one short command (nothing stays behind on the host) and parses its reply.
    ///
    /// - Throws: `ReleaseError` `.unreachable` when the command could not run, `.hostCommandFailed` when it printed
    ///   no reply.
    public func pollLog(_ poll: LogPoll, in directory: String) async throws(ReleaseError) -> LogPollReply {
        let output: ExecResult
        do {
            output = try await ssh.execute(Self.logPollScript(poll, in: directory), timeout: .seconds(15))
        } catch {
            throw self.error(.unreachable, "could not read the log in \(directory)", error)
        }
        guard output.succeeded, let reply = LogPollReply(output: output.stdout) else {
            throw self.error(
                .hostCommandFailed,
                "could not read the log in \(directory) (\(output.exit)): \(output.stderrText.trimmingWhitespace())")
        }
        return reply
    }

    /// The poll as a shell script: the newest `erlang.log.N` by modification time and its size, the size of the file
    /// read, then the bytes asked for (a tail reaches into the file before the newest, which may have just begun).
    /// Every name and number in it is quoted or an integer the follower computed.
    static func logPollScript(_ poll: LogPoll, in directory: String) -> String {
        let header = """
            cd \(ShellQuote.quote(directory)) 2>/dev/null || { echo 'controlnode-log - 0 -1'; exit 0; }
            newest=$(ls -t erlang.log.* 2>/dev/null | head -n 1)
            [ -n "$newest" ] || { echo 'controlnode-log - 0 -1'; exit 0; }
            newest_size=$(($(wc -c < "$newest")))
            """
        switch poll {
        case .tail(let lines, let limit):
            return header + """

                printf 'controlnode-log %s %s %s\\n' "$newest" "$newest_size" "$newest_size"
                previous=$(ls -t erlang.log.* 2>/dev/null | sed -n 2p)
                {
                  if [ -n "$previous" ] && [ \(max(0, lines)) -gt 0 ]; then tail -n \(max(0, lines)) "$previous"; fi
                  head -c "$newest_size" "$newest"
                } | tail -n \(max(0, lines)) | tail -c \(max(0, limit))
                exit 0
                """
        case .read(let file, let offset, let limit):
            return header + """

                f=\(ShellQuote.quote(file))
                if [ -f "$f" ]; then size=$(($(wc -c < "$f"))); else size=-1; fi
                printf 'controlnode-log %s %s %s\\n' "$newest" "$newest_size" "$size"
                if [ "$size" -gt \(max(0, offset)) ]; then
                  tail -c +\(max(0, offset) + 1) "$f" | head -c \(max(0, limit))
                fi
                exit 0
                """
        }
    }
}
