import CZlib

/// Inflates the zlib streams of compressed terms (tag 80). The only other zlib user is `GzipDecoder` (release
/// tarballs), which streams instead.
enum Inflater {
    /// Inflates the zlib stream at the start of `input` into exactly `expectedSize` bytes.
    ///
    /// The output buffer is `expectedSize` bytes and no more, so a stream that inflates further fails
    /// instead of growing memory; the caller checks `expectedSize` against its limit first.
    /// - Returns: the inflated bytes and how many input bytes the stream used.
    static func inflate(
        _ input: ArraySlice<UInt8>, expectedSize: Int
    ) throws(TermDecodingError) -> (output: [UInt8], consumed: Int) {
        guard expectedSize > 0 else {
            throw TermDecodingError(.compression, at: input.startIndex, "compressed term declares zero length")
        }
        var outputLength = uLongf(expectedSize)
        var inputLength = uLong(input.count)
        var status: Int32 = Z_OK
        let output = [UInt8](unsafeUninitializedCapacity: expectedSize) { buffer, initialized in
            status = input.withUnsafeBufferPointer { source in
                uncompress2(buffer.baseAddress, &outputLength, source.baseAddress, &inputLength)
            }
            initialized = status == Z_OK ? Int(outputLength) : 0
        }
        switch status {
        case Z_OK where output.count == expectedSize:
            return (output, Int(inputLength))
        case Z_OK:
            throw TermDecodingError(
                .compression, at: input.startIndex,
                "compressed term inflated to \(output.count) bytes, declared \(expectedSize)")
        case Z_BUF_ERROR:
            throw TermDecodingError(
                .compression, at: input.startIndex,
                "compressed term is truncated or inflates beyond its declared \(expectedSize) bytes")
        case Z_MEM_ERROR:
            throw TermDecodingError(.compression, at: input.startIndex, "out of memory inflating a compressed term")
        default:
            throw TermDecodingError(.compression, at: input.startIndex, "compressed term is not valid zlib data")
        }
    }
}
