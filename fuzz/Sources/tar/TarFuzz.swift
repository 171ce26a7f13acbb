import FuzzSupport

/// Walks the input as an uncompressed tar archive, fed in pieces the way the gunzip window hands them on.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTar(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    var archive = ReleaseArchive()
    for piece in input.pieces {
        let accepted = piece.withUnsafeBytes { archive.consume($0) }
        if !accepted { return 0 }
    }
    archive.finish()
    return 0
}
