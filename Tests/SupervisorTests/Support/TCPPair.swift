import Foundation

@testable import ReleaseSupervisor

/// A connected pair: a client made by `TCPStream.connect` and the server end it was accepted as.
func connectedTCPPair() async throws -> (client: TCPStream, server: TCPStream) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            guard bind(listener, raw, length) == 0, listen(listener, 1) == 0,
                getsockname(listener, raw, &length) == 0
            else { throw FixtureError("listener setup failed: errno \(errno)") }
        }
    }
    let client = try await TCPStream.connect(host: "127.0.0.1", port: UInt16(bigEndian: address.sin_port))
    let accepted = accept(listener, nil, nil)
    guard accepted >= 0 else { throw FixtureError("accept failed: errno \(errno)") }
    return (client, try TCPStream(adopting: accepted))
}
