import Crypto
import Foundation
import ReleaseSupervisor
import Testing

@Suite("SFTP upload against a real sshd")
struct UploadTests {
    @Test("50 MB into a directory tree that does not exist yet, checksum verified")
    func largeUploadIntoNewTree() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let local = server.directory.file("payload.bin")
        let payload = Data(patternBytes(count: 50 << 20, seed: 42))
        try payload.write(to: URL(fileURLWithPath: local))
        let remote = server.directory.file("remote/a/b/c/payload.bin")
        let connection = try await server.connect()
        let result = try await connection.upload(localPath: local, to: remote)
        let expected = SHA256.hash(data: payload).map { String(format: "%02x", $0) }.joined()
        #expect(result.sha256 == expected)
        #expect(result.size == 50 << 20)
        #expect(try Data(contentsOf: URL(fileURLWithPath: remote)) == payload)
        // No temporary file is left beside it.
        let siblings = try FileManager.default.contentsOfDirectory(atPath: server.directory.file("remote/a/b/c"))
        #expect(siblings == ["payload.bin"])
        await connection.close()
    }

    @Test("an existing file is replaced whole")
    func replacesExisting() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let local = server.directory.file("new.txt")
        try "new contents\n".write(toFile: local, atomically: true, encoding: .utf8)
        let remote = server.directory.file("target.txt")
        try "old\n".write(toFile: remote, atomically: true, encoding: .utf8)
        let connection = try await server.connect()
        _ = try await connection.upload(localPath: local, to: remote)
        #expect(try String(contentsOfFile: remote, encoding: .utf8) == "new contents\n")
        await connection.close()
    }

    @Test("an unwritable directory gives a clear error and leaves nothing under the final name")
    func unwritableDirectory() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let local = server.directory.file("small.txt")
        try "data\n".write(toFile: local, atomically: true, encoding: .utf8)
        // A regular file where a directory is needed: unwritable even for root.
        try "".write(toFile: server.directory.file("blocker"), atomically: true, encoding: .utf8)
        let connection = try await server.connect()
        await #expect {
            _ = try await connection.upload(localPath: local, to: server.directory.file("blocker/sub/file.txt"))
        } throws: { error in
            guard let error = error as? SSHError else { return false }
            return error.code == .uploadFailed && error.detail.contains("blocker") && error.host.contains("127.0.0.1")
        }
        // A read-only file system: /proc.
        await #expect {
            _ = try await connection.upload(localPath: local, to: "/proc/controlnode-test.txt")
        } throws: { error in
            guard let error = error as? SSHError else { return false }
            return error.code == .uploadFailed && error.detail.contains("/proc")
        }
        #expect(!FileManager.default.fileExists(atPath: "/proc/controlnode-test.txt"))
        // The connection is still usable.
        #expect(try await connection.execute("true").succeeded)
        await connection.close()
    }

    @Test("a missing local file is reported before anything is sent")
    func missingLocalFile() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let connection = try await server.connect()
        await #expect {
            _ = try await connection.upload(localPath: "/nonexistent/file", to: server.directory.file("x"))
        } throws: { ($0 as? SSHError)?.code == .localFileUnreadable }
        await connection.close()
    }

    @Test("a full disk fails the upload and leaves neither the final nor the temporary file",
        .enabled(if: getuid() == 0, "needs root to mount a small tmpfs"))
    func diskFull() async throws {
        let server = try await SSHServerFixture.start()
        defer { server.stop() }
        let mountPoint = server.directory.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let (status, output) = try runCommand("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint])
        try #require(status == 0, "mount failed: \(output)")
        defer { _ = try? runCommand("/bin/umount", [mountPoint]) }
        let local = server.directory.file("big.bin")
        try Data(patternBytes(count: 4 << 20, seed: 3)).write(to: URL(fileURLWithPath: local))
        let connection = try await server.connect()
        await #expect {
            _ = try await connection.upload(localPath: local, to: "\(mountPoint)/release.tar.gz")
        } throws: { error in
            guard let error = error as? SSHError else { return false }
            return error.code == .uploadFailed && error.detail.contains("release.tar.gz")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint).isEmpty)
        await connection.close()
    }
}
