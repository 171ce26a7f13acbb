import FuzzSupport
import ReleaseSupervisor

/// Plays the input back as EPMD's answer to a NAMES request and to a PORT_PLEASE2 request, read in pieces.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEPMD(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let bytes = input.bytes
    let pieceSize = input.pieceSize
    runBlocking {
        let host = "fuzz.example"
        if let names = try? await EPMDClient.names(over: ScriptedStream(bytes, pieceSize: pieceSize), host: host) {
            _ = names.count
        }
        do throws(DistributionError) {
            if let info = try await EPMDClient.lookup("myapp", over: ScriptedStream(bytes, pieceSize: pieceSize), host: host) {
                _ = info.name
            }
        } catch {
            _ = error.description
        }
    }
    return 0
}
