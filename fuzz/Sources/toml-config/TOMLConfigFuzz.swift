@testable import ReleaseSupervisor

/// Parses the input as the configuration file: first the TOML syntax alone, then the whole validation
/// the daemon does on load (without touching the files it names). A configuration that validates must
/// survive `config show`: its TOML text parses back to an equal configuration.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOMLConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard (try? TOMLParser.parse(text)) != nil else { return 0 }
    guard let config = try? ControlNodeConfig.parse(text, file: "fuzz.toml") else { return 0 }
    let shown = config.tomlText
    do {
        let reparsed = try ControlNodeConfig.parse(shown, file: "shown.toml")
        precondition(reparsed == config, "config show does not read back equal:\n\(shown)")
    } catch {
        preconditionFailure("config show writes what parse refuses: \(error)\n\(shown)")
    }
    return 0
}
