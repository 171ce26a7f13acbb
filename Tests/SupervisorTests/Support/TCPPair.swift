import Foundation

@testable import ReleaseSupervisor

/// A listening TCP socket on an ephemeral port of 127.0.0.1, which the caller closes, and its port.
func loopbackListener(backlog: Int32 = 1) throws -> (descriptor: Int32, port: UInt16) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ready = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(listener, raw, length) == 0 && listen(listener, backlog) == 0 && getsockname(listener, raw, &length) == 0
        }
    }
    guard ready else {
        let error = errno
        close(listener)
        throw FixtureError("listener setup failed: errno \(error)")
    }
    return (listener, UInt16(bigEndian: address.sin_port))
}

/// A connected pair: a client made by `TCPStream.connect` and the server end it was accepted as.
func connectedTCPPair() async throws -> (client: TCPStream, server: TCPStream) {
    let (listener, port) = try loopbackListener()
    defer { close(listener) }
    let client = try await TCPStream.connect(host: "127.0.0.1", port: port)
    let accepted = accept(listener, nil, nil)
    guard accepted >= 0 else { throw FixtureError("accept failed: errno \(errno)") }
    return (client, try TCPStream(adopting: accepted))
}
