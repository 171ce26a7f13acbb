import Foundation

/// A TCP echo server on 127.0.0.1 in the test process: each connection gets back what it sends, and the
/// server closes its side once the client has half-closed and everything was echoed.
final class EchoServer: @unchecked Sendable {
    // @unchecked: `listener` is set once in init; `stopped` only goes from false to true.
    let port: UInt16
    private let listener: Int32
    private var stopped = false

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 128) == 0 else { throw FixtureError("echo server cannot listen") }
        var actual = sockaddr_in()
        var actualLength = length
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &actualLength) }
        }
        port = UInt16(bigEndian: actual.sin_port)
        let fd = listener
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread { Self.echo(client) }
            }
        }
    }

    private static func echo(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(client, $0.baseAddress! + offset, count - offset) }
                if written <= 0 { break }
                offset += written
            }
        }
        close(client)
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

/// A blocking TCP client socket to 127.0.0.1:`port`, for tests.
func connectLoopback(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        close(fd)
        throw FixtureError("cannot connect to 127.0.0.1:\(port): errno \(errno)")
    }
    return fd
}

/// Sends `payload` on a blocking socket from one thread while reading from another, half-closes after
/// sending, and returns everything read until end of file.
func exchange(_ fd: Int32, payload: [UInt8]) -> [UInt8] {
    let writer = Thread {
        var offset = 0
        while offset < payload.count {
            let written = payload.withUnsafeBytes { write(fd, $0.baseAddress! + offset, min(65536, payload.count - offset)) }
            if written <= 0 { break }
            offset += written
        }
        shutdown(fd, Int32(SHUT_WR))
    }
    writer.start()
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &buffer, buffer.count)
        if count <= 0 { break }
        received.append(contentsOf: buffer[0..<count])
    }
    return received
}

/// Seeded pseudo-random bytes, so a mismatch is reproducible (eight at a time: tests run unoptimised).
func patternBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    return [UInt8](unsafeUninitializedCapacity: count + 8) { buffer, initialized in
        let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
        var offset = 0
        while offset < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            raw.storeBytes(of: state, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        initialized = count
    }
}
