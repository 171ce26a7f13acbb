#if canImport(Glibc)
import Glibc
#endif

/// Plain-socket load generators for the forwarding benchmark: the same for ours and for OpenSSH's.
enum Pump {
    static func address(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// Sends `bytes` zero bytes, half-closes, waits for end of file; returns the elapsed seconds.
    static func run(port: UInt16, bytes: Int) -> Double {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var target = address(port: port)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        guard connected == 0 else { fail("cannot connect to port \(port)") }
        let buffer = [UInt8](repeating: 0, count: 1 << 20)
        var sent = 0
        while sent < bytes {
            let count = buffer.withUnsafeBytes { write(fd, $0.baseAddress, min($0.count, bytes - sent)) }
            guard count > 0 else { fail("write failed after \(sent) bytes") }
            sent += count
        }
        shutdown(fd, Int32(SHUT_WR))
        var scratch = [UInt8](repeating: 0, count: 4096)
        while read(fd, &scratch, scratch.count) > 0 {}
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &end)
        close(fd)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    }

    /// Accepts connections one at a time and reads each to end of file before closing it.
    static func sink(port: UInt16) -> Never {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = address(port: port)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { fail("sink cannot listen on \(port)") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            while read(client, &buffer, buffer.count) > 0 {}
            close(client)
        }
    }
}
