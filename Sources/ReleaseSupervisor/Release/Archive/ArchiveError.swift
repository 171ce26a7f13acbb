/// Why a `.tar.gz` stream could not be read: the compression, the tar structure, or an unsafe entry.
///
/// It carries no file name: the reader sees only bytes. Callers wrap it with the file and what to do.
struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the archive.
    enum Code: Sendable, Equatable {
        /// The data does not start like gzip.
        case notGzip
        /// The gzip stream is damaged (bad block, CRC or length mismatch, data after its end).
        case corruptCompression
        /// The data ends before the gzip stream or the tar archive does.
        case truncated
        /// A tar header is damaged or of an unknown format.
        case corruptTar
        /// An entry would land outside the extraction directory, or is a device node.
        case unsafeEntry
    }

    /// What is wrong.
    let code: Code
    /// Where and how, in words.
    let detail: String

    init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    var description: String { detail }
}
