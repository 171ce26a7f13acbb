import ReleaseSupervisor
import Foundation

/// A pseudo-terminal the test opens itself, for a CLI that behaves differently on a terminal: the child gets the
/// slave as stdout and stderr, and a thread of ours copies what it writes from the master into a log file.
///
/// util-linux `script` did this before; its wait for the child can hang after the child has exited (util-linux
/// issue 2562), which stalled a whole test run.
final class PseudoTerminal: Sendable {
    /// The slave's path, to open as the child's stdout.
    let slavePath: String
    private let master: Int32
    private let stopped = Locked(false)
    private let finished = Locked(false)

    /// Opens a terminal of `columns` × `rows`, copying its output to `logPath`.
    init(logPath: String, columns: UInt16 = 80, rows: UInt16 = 24) throws {
        // posix_openpt and unlockpt are not in Swift's Glibc module; on Linux they are /dev/ptmx and two ioctls.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0 else { throw FixtureError("cannot open /dev/ptmx: \(String(cString: strerror(errno)))") }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(master, Self.setLock, &unlock) == 0, ioctl(master, Self.getNumber, &number) == 0 else {
            Glibc.close(master)
            throw FixtureError("cannot unlock the pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        guard FileManager.default.createFile(atPath: logPath, contents: nil),
            let log = FileHandle(forWritingAtPath: logPath)
        else {
            Glibc.close(master)
            throw FixtureError("cannot write \(logPath)")
        }
        self.master = master
        slavePath = "/dev/pts/\(number)"
        let thread = Thread { [stopped, finished] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            while !stopped.withLock({ $0 }) {
                guard poll(&descriptor, 1, 100) > 0 else { continue }
                let count = read(master, &buffer, buffer.count)
                // EIO: every slave descriptor is closed (the child exited); keep polling until stopped.
                if count <= 0 {
                    if count < 0 && errno != EIO && errno != EINTR && errno != EAGAIN { break }
                    usleep(20_000)
                    continue
                }
                log.write(Data(buffer[0..<count]))
            }
            try? log.close()
            finished.withLock { $0 = true }
        }
        thread.start()
    }

    /// TIOCSPTLCK and TIOCGPTN (<asm-generic/ioctls.h>), which Swift cannot import as they are macros.
    private static let setLock = UInt(0x4004_5431)
    private static let getNumber = UInt(0x8004_5430)

    /// Stops the copying and closes the master, once the thread has let go of it.
    func close() {
        stopped.withLock { $0 = true }
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while !finished.withLock({ $0 }) && ContinuousClock.now < deadline { usleep(5_000) }
        if finished.withLock({ $0 }) { Glibc.close(master) }
    }
}
