import CZlib

/// Streaming gunzip through zlib: compressed bytes go in chunk by chunk, decompressed bytes come out through a
/// fixed window, so a 50 MB tarball is checked in constant memory.
///
/// zlib checks each member's CRC-32 and length. Concatenated members (as `cat a.gz b.gz` makes) are read one
/// after the other; zero bytes after the last member (tape-style padding) are ignored; anything else is corrupt.
struct GzipDecoder: ~Copyable {
    /// zlib keeps a pointer back to its `z_stream` and checks it on every call, so the stream must not move.
    private let stream: UnsafeMutablePointer<z_stream>
    private let window: UnsafeMutableRawBufferPointer
    private var inMember = true
    private var membersFinished = 0
    /// Compressed bytes taken so far, over all members (zlib's own count restarts with each member).
    private var consumed = 0

    /// Creates a decoder whose output arrives in pieces of at most `windowSize` bytes.
    init(windowSize: Int = 256 << 10) throws(ArchiveError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 16: the largest window, and a gzip wrapper (not zlib's own) around the deflate data.
        guard cnz_inflateInit2(stream, 15 + 16) == Z_OK else {
            stream.deallocate()
            throw ArchiveError(.corruptCompression, "zlib could not start (out of memory?)")
        }
        window = .allocate(byteCount: windowSize, alignment: 1)
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        window.deallocate()
    }

    /// Decompresses all of `input`, handing each filled part of the output window to `sink` in order.
    ///
    /// - Throws: `ArchiveError` with `.notGzip` or `.corruptCompression`, or what `sink` throws.
    mutating func decompress(
        _ input: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        var offset = 0
        // A full window may leave output inside zlib: call again, even with no input left, until it is out.
        var outputPending = false
        while offset < input.count || outputPending {
            if !inMember {
                offset = try skipPaddingOrStartMember(input, from: offset)
                outputPending = false
                continue
            }
            let next = base.advanced(by: offset).assumingMemoryBound(to: Bytef.self)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: next)
            stream.pointee.avail_in = uInt(input.count - offset)
            stream.pointee.next_out = window.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(window.count)
            let status = inflate(stream, Z_NO_FLUSH)
            let used = input.count - Int(stream.pointee.avail_in) - offset
            offset += used
            consumed += used
            let produced = window.count - Int(stream.pointee.avail_out)
            outputPending = produced == window.count
            if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: window[0..<produced])) }
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                inMember = false
                membersFinished += 1
                outputPending = false
            case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                // No progress possible without more input; zlib's own words for "waiting".
                outputPending = false
            case Z_MEM_ERROR:
                throw ArchiveError(.corruptCompression, "out of memory while decompressing")
            default:
                throw failure()
            }
        }
    }

    /// Confirms the input is complete: the last gzip member reached its end marker.
    ///
    /// - Throws: `ArchiveError` with `.truncated` when the stream stops in the middle of a member.
    func finish() throws(ArchiveError) {
        guard inMember else { return }
        if consumed == 0 { throw ArchiveError(.truncated, "the file is empty") }
        throw ArchiveError(.truncated, "the gzip stream stops after \(consumed) bytes, before its end marker")
    }

    /// After a member's end: skips zero padding, or resets zlib for the next member at its magic byte.
    private mutating func skipPaddingOrStartMember(
        _ input: UnsafeRawBufferPointer, from start: Int
    ) throws(ArchiveError) -> Int {
        var offset = start
        while offset < input.count && input[offset] == 0 { offset += 1 }
        consumed += offset - start
        guard offset < input.count else { return offset }
        guard input[offset] == 0x1F else {
            throw ArchiveError(
                .corruptCompression, "data follows the end of the gzip stream at byte \(consumed)")
        }
        inflateReset(stream)
        inMember = true
        return offset
    }

    private func failure() -> ArchiveError {
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
        if membersFinished == 0 && stream.pointee.total_out == 0 && consumed < 10 {
            return ArchiveError(.notGzip, "not gzip data (\(message))")
        }
        return ArchiveError(
            .corruptCompression,
            "the gzip stream is damaged near byte \(consumed) (\(message))")
    }
}
