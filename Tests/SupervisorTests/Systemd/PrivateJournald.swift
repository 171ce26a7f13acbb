import Foundation

/// Runs a real systemd-journald in a private mount namespace (its own tmpfs on /run, its journal files bound
/// to a temporary directory) and, inside that namespace, a command that logs to it. Nothing of the host's
/// /run or journal is touched; the namespace, journald and its tmpfs end with the script.
enum PrivateJournald {
    static let journaldPath = "/lib/systemd/systemd-journald"

    /// Why the journald tests cannot run here, or nil when they can: they need root, unshare, journald and
    /// journalctl, and the right to create a mount namespace.
    static let unavailableReason: String? = {
        if geteuid() != 0 { return "needs root to mount in a private namespace" }
        for tool in [journaldPath, "/usr/bin/unshare", "/usr/bin/journalctl"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install systemd util-linux)"
        }
        guard let (status, output) = try? runCommand("/usr/bin/unshare", ["-m", "/bin/true"]), status == 0 else {
            return "cannot create a mount namespace here (unshare -m failed)"
        }
        _ = output
        return nil
    }()

    static var isAvailable: Bool { unavailableReason == nil }

    /// Runs `command` inside the namespace with `JOURNALD_PID` set, waits until an entry with
    /// `EVENT=<doneEvent>` is in the journal, stops journald, and returns the script's exit status and output.
    /// The journal files stay in `directory`/journal for `journalctl --directory`.
    static func run(
        _ command: [String], environment: [String: String], doneEvent: String, in directory: TemporaryDirectory
    ) throws -> (status: Int32, output: String) {
        let journal = directory.file("journal")
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        let script = """
            set -eu
            mount --make-rprivate /
            mount -t tmpfs -o mode=0755 tmpfs /run
            mkdir -p /run/systemd/journal /run/log/journal
            mount --bind "$JOURNAL_DIR" /run/log/journal
            \(journaldPath) &
            JOURNALD_PID=$!
            export JOURNALD_PID
            trap 'kill -CONT $JOURNALD_PID 2>/dev/null; kill $JOURNALD_PID 2>/dev/null; wait $JOURNALD_PID || true' EXIT
            i=0
            until [ -S /run/systemd/journal/socket ]; do
                i=$((i + 1)); [ $i -lt 200 ] || { echo "journald did not create its socket"; exit 97; }
                sleep 0.05
            done
            status=0
            "$@" || status=$?
            i=0
            until journalctl --directory=/run/log/journal -q EVENT=\(doneEvent) | grep -q .; do
                i=$((i + 1)); [ $i -lt 200 ] || { echo "the probe's last entry never reached the journal"; exit 98; }
                sleep 0.05
            done
            exit $status
            """
        try directory.write("namespace.sh", script, mode: 0o700)
        var childEnvironment = environment
        childEnvironment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
        childEnvironment["JOURNAL_DIR"] = journal
        let process = try TestProcess(
            "/usr/bin/unshare", ["-m", "/bin/sh", directory.file("namespace.sh")] + command,
            environment: childEnvironment, logPath: directory.file("namespace.log"), name: "unshare")
        let status = try process.exit(within: .seconds(600))
        return (status, process.log)
    }

    /// The entries matching `match` (`FIELD=value`), as journalctl's JSON objects.
    static func entries(in directory: TemporaryDirectory, matching match: String) throws -> [[String: Any]] {
        let (status, output) = try runCommand(
            "/usr/bin/journalctl", ["--directory=\(directory.file("journal"))", "-o", "json", "--no-pager", match])
        guard status == 0 else { throw FixtureError("journalctl failed: \(output)") }
        return output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}
