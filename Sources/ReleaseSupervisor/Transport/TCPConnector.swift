#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a TCP connection could not be made.
public struct TCPConnectError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// The name did not resolve.
        case resolution
        /// Every address refused or failed.
        case unreachable
        /// No address answered within the timeout.
        case timedOut
    }

    /// What went wrong.
    public let code: Code
    /// The host as given.
    public let host: String
    /// The port.
    public let port: UInt16
    /// The system's explanation.
    public let detail: String

    /// A sentence naming host, port and cause.
    public var description: String {
        switch code {
        case .resolution: "cannot resolve \(host): \(detail); check the address in the configuration"
        case .unreachable: "cannot connect to \(host) port \(port): \(detail)"
        case .timedOut: "no answer from \(host) port \(port) within \(detail); is the host up and the port open?"
        }
    }
}

/// Opens TCP connections: resolves names (IPv4 and IPv6), tries each address in turn, bounded by a timeout.
enum TCPConnector {
    /// Connects to `host`:`port` and returns a non-blocking socket with TCP_NODELAY set.
    static func connect(host: String, port: UInt16, timeout: Duration) throws(TCPConnectError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw TCPConnectError(
                code: .resolution, host: host, port: port, detail: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var lastError = "no address"
        var timedOut = false
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero {
                timedOut = true
                break
            }
            switch attempt(current.pointee, remaining: remaining) {
            case .connected(let fd): return fd
            case .failed(let reason): lastError = reason
            case .timedOut: timedOut = true
            }
        }
        if timedOut {
            throw TCPConnectError(code: .timedOut, host: host, port: port, detail: "\(timeout)")
        }
        throw TCPConnectError(code: .unreachable, host: host, port: port, detail: lastError)
    }

    private enum Attempt {
        case connected(Int32)
        case failed(String)
        case timedOut
    }

    private static func attempt(_ info: addrinfo, remaining: Duration) -> Attempt {
        let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed(SystemCallError(call: "socket", errno: errno).description) }
        if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) != 0 && errno != EINPROGRESS {
            let error = SystemCallError(call: "connect", errno: errno)
            Glibc.close(fd)
            return .failed(error.description)
        }
        var pollEntry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let milliseconds = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
        let ready = (try? systemCall("poll") { poll(&pollEntry, 1, max(milliseconds, 1)) }) ?? 0
        if ready == 0 {
            Glibc.close(fd)
            return .timedOut
        }
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
        if soError != 0 {
            Glibc.close(fd)
            return .failed(SystemCallError(call: "connect", errno: soError).description)
        }
        setNoDelay(fd)
        return .connected(fd)
    }

    /// Turns off Nagle's algorithm: small writes (RPCs, ticks) go out at once.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}
