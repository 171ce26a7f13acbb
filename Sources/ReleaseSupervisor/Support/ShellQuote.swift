/// Quoting for POSIX `sh` command lines built from paths and names.
public enum ShellQuote {
    /// `text` in single quotes, with embedded single quotes escaped, so the shell takes it as one word verbatim.
    public static func quote(_ text: String) -> String {
        var quoted = "'"
        for character in text {
            if character == "'" { quoted += #"'\''"# } else { quoted.append(character) }
        }
        return quoted + "'"
    }
}
