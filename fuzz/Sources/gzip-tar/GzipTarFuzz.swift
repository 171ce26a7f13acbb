import FuzzSupport
@testable import ReleaseSupervisor

/// Gunzips the input, fed in pieces as a file is read, and walks the output as tar: the registry's check of
/// a tarball it stores. A small output window makes the decoder hand on full windows often.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzipTar(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    guard var gzip = try? GzipDecoder(windowSize: 4096) else { return 0 }
    var archive = ReleaseArchive()
    var tarRefused = false
    for piece in input.pieces {
        let refused = piece.withUnsafeBytes { bytes -> ArchiveError? in
            do throws(ArchiveError) {
                try gzip.decompress(bytes) { output in
                    if !tarRefused { tarRefused = !archive.consume(output) }
                }
                return nil
            } catch {
                return error
            }
        }
        if let refused {
            _ = refused.detail
            return 0
        }
    }
    _ = try? gzip.finish()
    if !tarRefused { archive.finish() }
    return 0
}
