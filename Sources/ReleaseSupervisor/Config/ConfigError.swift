/// A configuration file that cannot be used: which file, line and key, what is wrong and what to do.
///
/// `description` reads `/etc/controlnode/controlnode.toml:14: releases.service_app.mode: "mange" is not
/// allowed; use one of manage, observe, connect`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public enum Code: String, Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// The text is not valid TOML (or uses TOML this file does not need).
        case syntax
        /// A key or table the configuration does not know (often a typo).
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// A value of the wrong TOML type (a number where a string belongs, say).
        case wrongType
        /// A value of the right type that is not allowed.
        case invalidValue
        /// A release names a host that has no `[hosts.NAME]` table.
        case unknownHost
        /// A secret written into the file instead of referenced by a file path.
        case inlineSecret
        /// A cookie, key or passphrase file that does not exist or cannot be read.
        case secretFileUnusable
        /// A secret file (cookie, key, passphrase) that group or others can access.
        case insecurePermissions
    }

    /// The kind of problem.
    public let code: Code
    /// The configuration file.
    public let file: String
    /// 1-based line of the key or table at fault; nil only when the file itself cannot be read.
    public let line: Int?
    /// The dotted key at fault, such as `releases.service_app.mode`; nil for whole-file problems.
    public let key: String?
    /// What is wrong.
    public let problem: String
    /// What to do about it, when there is something specific to say.
    public let remedy: String?

    /// Creates an error; `problem` says what is wrong, `remedy` what to do.
    public init(_ code: Code, file: String, line: Int?, key: String?, problem: String, remedy: String? = nil) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
        self.remedy = remedy
    }

    /// `file:line: key: problem; remedy`.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        text += problem
        if let remedy { text += "; \(remedy)" }
        return text
    }
}

/// Something in the configuration that works but should be fixed, such as a cookie file others can read.
public struct ConfigWarning: Sendable, Equatable, CustomStringConvertible {
    /// The configuration file.
    public let file: String
    /// 1-based line of the key the warning is about.
    public let line: Int
    /// The dotted key the warning is about.
    public let key: String
    /// What is wrong and what to do.
    public let message: String

    /// `file:line: key: message`.
    public var description: String { "\(file):\(line): \(key): \(message)" }
}
