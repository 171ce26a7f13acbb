@testable import ReleaseSupervisor

/// Decodes the input as one external-format term, as a node's reply would arrive; what decodes is printed
/// (as logs do) and re-encoded, and our own encoding must decode again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTermDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let term = try? TermDecoder().decode(bytes) else { return 0 }
    _ = term.description
    guard let encoded = try? TermEncoder().encode(term) else { return 0 }
    do {
        _ = try TermDecoder().decode(encoded)
    } catch {
        preconditionFailure("the decoder refuses the encoder's own bytes for \(term): \(error)")
    }
    return 0
}
