import Foundation

/// A minimal Debian 12 booted with real systemd by `systemd-nspawn -b`: in a mount namespace of its own with a
/// private /run, its root read-only under a tmpfs overlay (`--volatile=overlay`, so the cached image stays
/// pristine), its own network namespace (`--private-network`: an sshd and an EPMD on its own loopback, and no
/// way out), and a staging directory bound read-only. No Swift toolchain or runtime is inside: what runs there
/// must have come with the Debian package. The root file system comes from
/// `scripts/nspawn-rootfs.sh` (debootstrap, cached outside the repository).
final class NspawnMachine: Sendable {
    /// Why a container cannot be booted here, or nil when it can.
    static let unavailableReason: String? = {
        if geteuid() != 0 { return "needs root to boot a container with systemd-nspawn" }
        for tool in ["/usr/bin/systemd-nspawn", "/usr/sbin/debootstrap", "/usr/bin/unshare", "/usr/bin/nsenter"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install systemd-container debootstrap util-linux)"
        }
        guard let (status, _) = try? runCommand("/usr/bin/unshare", ["-m", "/bin/true"]), status == 0 else {
            return "cannot create a mount namespace here (unshare -m failed)"
        }
        return nil
    }()

    static var isAvailable: Bool { unavailableReason == nil }

    private let nspawn: TestProcess
    /// The container's systemd (PID 1 inside), as the host sees it.
    let initPID: Int32

    /// Boots the image with `staging` bound at /staging; returns once systemd reports the system running.
    init(staging: String, logPath: String) async throws {
        let (built, rootfs) = try await offload {
            try runCommand("/bin/bash", [PackagingTests.repository + "/scripts/nspawn-rootfs.sh"])
        }
        guard built == 0 else { throw FixtureError("could not build the container image: \(rootfs)") }
        let root = rootfs.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "\n").last ?? ""
        let script = """
            mount -t tmpfs -o mode=0755 tmpfs /run && exec systemd-nspawn -q -b -D '\(root)' --volatile=overlay \
              --keep-unit --register=no --private-network --console=read-only \
              --bind-ro='\(staging)':/staging
            """
        nspawn = try TestProcess(
            "/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script],
            logPath: logPath, name: "systemd-nspawn")
        var found: Int32?
        let deadline = ContinuousClock.now + .seconds(60)
        while found == nil, ContinuousClock.now < deadline, nspawn.isRunning {
            found = Self.containerInit(under: nspawn.pid)
            if found == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let found else {
            nspawn.stop()
            throw FixtureError("the container did not boot: \(nspawn.log.suffix(2000))")
        }
        initPID = found
        // systemd's bus appears a moment after its process: ask again until it answers.
        var (status, output) = (Int32(1), "")
        while ContinuousClock.now < deadline {
            (status, output) = try await run("systemctl is-system-running --wait 2>&1 || systemctl --failed --no-pager")
            if !output.contains("Failed to connect to bus") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard status == 0 || output.contains("degraded") else {
            stop()
            throw FixtureError("the container's systemd did not come up: \(output)")
        }
    }

    /// Runs a shell command inside the container (all its namespaces), as root.
    func run(_ command: String) async throws -> (status: Int32, output: String) {
        let pid = initPID
        return try await offload {
            try runCommand("/usr/bin/nsenter", ["-t", "\(pid)", "-m", "-u", "-i", "-n", "-p", "--", "/bin/sh", "-c", command])
        }
    }

    /// One property of a unit, as `systemctl show -p NAME --value` prints it.
    func property(_ name: String, of unit: String) async throws -> String {
        try await run("systemctl show -p \(name) --value \(unit)").output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Powers the container off (nspawn ends it on SIGTERM), and kills what is left.
    func stop() {
        nspawn.stop(grace: .seconds(10))
    }

    /// The `systemd` process whose parent is systemd-nspawn, below the `unshare` process `root`.
    private static func containerInit(under root: Int32) -> Int32? {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        func parent(_ pid: Int32) -> Int32? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").dropFirst().first.flatMap { Int32($0) }
        }
        func command(_ pid: Int32) -> String {
            ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for pid in processes where command(pid) == "systemd" {
            guard let nspawn = parent(pid), command(nspawn) == "systemd-nspawn" else { continue }
            if nspawn == root || parent(nspawn) == root { return pid }
        }
        return nil
    }
}
