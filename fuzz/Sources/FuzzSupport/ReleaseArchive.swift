@testable import ReleaseSupervisor

/// Walks tar bytes as the registry does when it stores a tarball: each member goes to the check that the
/// contents are the release the file name promises, whose verdict is then asked for.
public struct ReleaseArchive {
    private var scanner = TarScanner()
    private var contents: ReleaseContents

    /// A walk that expects the members of `myapp-0.1.0.tar.gz`.
    public init() {
        // A constant name the parser of file names accepts; not input.
        contents = ReleaseContents(expecting: ReleaseTarballName(fileName: "myapp-0.1.0.tar.gz")!)
    }

    /// Feeds the next decompressed bytes; false once the scanner refused the archive.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do throws(ArchiveError) {
            try scanner.consume(bytes) { contents.record($0) }
            return true
        } catch {
            _ = error.detail
            return false
        }
    }

    /// Ends the walk: the scanner's end check and the contents' verdict.
    public func finish() {
        _ = try? scanner.finish()
        _ = contents.mismatch
    }
}
