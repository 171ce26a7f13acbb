import FoundationEssentials
import ReleaseSupervisor

/// Reads the input as a line on the control socket, with the daemon's own request type (this target
/// compiles the daemon's ControlProtocol.swift and ControlRows.swift, linked in beside this file); a
/// request that parses is encoded back and must parse again. The same bytes are also read as a response
/// line, as the CLI reads the daemon's answer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    if let request = ControlRequest(line: line) {
        _ = request.isMutating
        do {
            let encoded = try JSONEncoder.line(request)
            precondition(ControlRequest(line: Array(encoded.dropLast())) != nil, "a request does not read back")
        } catch {
            preconditionFailure("a parsed request does not encode: \(error)")
        }
    }
    if let response = try? JSONDecoder().decode(ControlResponse.self, from: Data(line)) {
        _ = try? JSONEncoder.line(response)
    }
    return 0
}
