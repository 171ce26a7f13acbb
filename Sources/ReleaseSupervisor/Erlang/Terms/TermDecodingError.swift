/// Why bytes could not be decoded as an Erlang term.
public struct TermDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong with the input.
    public enum Code: Sendable, Equatable {
        /// The input ended inside a term.
        case truncated
        /// The input did not start with the format's version byte (131).
        case badVersion
        /// A tag byte this decoder does not know or does not accept.
        case unknownTag
        /// A length or count larger than the input could hold.
        case lengthExceedsInput
        /// Terms nested deeper than the decoder's limit.
        case tooDeep
        /// The input holds more terms than the decoder's limit allows.
        case tooManyTerms
        /// A field held a value the format forbids (bad UTF-8, infinite float, bad bit count, ...).
        case invalidValue
        /// A compressed term that would not inflate, or would inflate beyond the limit.
        case compression
        /// Bytes were left over after the term.
        case trailingBytes
    }

    /// What was wrong.
    public let code: Code
    /// The offset in the input where the problem was found.
    public let offset: Int
    /// Details for the log.
    public let detail: String

    init(_ code: Code, at offset: Int, _ detail: String) {
        self.code = code
        self.offset = offset
        self.detail = detail
    }

    /// A sentence for logs: what was wrong and where.
    public var description: String { "malformed Erlang term at byte \(offset): \(detail)" }
}
