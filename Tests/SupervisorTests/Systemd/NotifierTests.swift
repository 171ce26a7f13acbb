import Foundation
import Testing

@testable import ReleaseSupervisor

/// One serialized suite for everything that sets `NOTIFY_SOCKET` or `WATCHDOG_*` in the test process's
/// environment (the watchdog tests are in an extension in another file).
@Suite("sd_notify and the watchdog", .serialized)
struct SystemdNotifyTests {
    @Test("READY, STATUS, STOPPING and WATCHDOG arrive as sd_notify datagrams")
    func assignments() throws {
        defer { clearSystemdEnvironment() }
        let socket = try NotifySocket()
        socket.install()
        let notifier = Notifier()
        #expect(try notifier.ready(status: "2 of 2 releases running"))
        #expect(socket.receive() == "READY=1\nSTATUS=2 of 2 releases running")
        try notifier.status("web1: service_app down\nrestarting")
        #expect(socket.receive() == "STATUS=web1: service_app down restarting")
        try notifier.stopping()
        #expect(socket.receive() == "STOPPING=1")
        try notifier.watchdogPing()
        #expect(socket.receive() == "WATCHDOG=1")
        #expect(getenv("NOTIFY_SOCKET") != nil, "sd_notify must never unset NOTIFY_SOCKET")
    }

    @Test("RELOADING carries MONOTONIC_USEC from the monotonic clock")
    func reloading() throws {
        defer { clearSystemdEnvironment() }
        let socket = try NotifySocket()
        socket.install()
        let before = LibSystemd.monotonicMicroseconds()
        try Notifier().reloading(status: "reloading configuration")
        let after = LibSystemd.monotonicMicroseconds()
        let lines = try #require(socket.receive()).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first == "RELOADING=1")
        #expect(lines.last == "STATUS=reloading configuration")
        let stamp = try #require(lines.first { $0.hasPrefix("MONOTONIC_USEC=") }?.dropFirst("MONOTONIC_USEC=".count))
        let microseconds = try #require(UInt64(stamp))
        #expect((before...after).contains(microseconds))
    }

    @Test("without NOTIFY_SOCKET every notification is a no-op")
    func withoutSocket() throws {
        clearSystemdEnvironment()
        let notifier = Notifier()
        #expect(try notifier.ready(status: "running") == false)
        #expect(try notifier.watchdogPing() == false)
    }

    @Test("a NOTIFY_SOCKET nobody listens on is an error that names the cause")
    func deadSocket() throws {
        defer { clearSystemdEnvironment() }
        setenv("NOTIFY_SOCKET", "@controlnode-test-nobody-\(getpid())", 1)
        let error = try #require(throws: SystemdError.self) { try Notifier().ready() }
        #expect(error.code == .notifyFailed)
        #expect(error.description.contains("NOTIFY_SOCKET"))
    }
}
