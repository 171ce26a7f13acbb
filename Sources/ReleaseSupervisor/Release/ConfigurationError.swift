/// A release or host specification that cannot be used: which one, which setting, and what to do.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What the setting belongs to, as `release service_app` or `host web1`.
    public let subject: String
    /// The setting, as `cookie_file` or `environment`.
    public let setting: String
    /// What is wrong and what to do.
    public let detail: String
    /// The error of the layer below (reading a file), if any.
    public let underlyingError: (any Error & Sendable)?

    init(_ subject: String, setting: String, _ detail: String, underlyingError: (any Error & Sendable)? = nil) {
        self.subject = subject
        self.setting = setting
        self.detail = detail
        self.underlyingError = underlyingError
    }

    /// One line for logs and the command line.
    public var description: String {
        let cause = underlyingError.map { " (\($0))" } ?? ""
        return "\(subject): \(setting): \(detail)\(cause)"
    }
}
