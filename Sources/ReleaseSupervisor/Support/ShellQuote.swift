/// Quoting for POSIX `sh` command lines built from paths and names.
///
/// Quoting works on UTF-8 bytes, never on Swift `Character`s: a `'` followed by a combining mark is one
/// `Character` that is not `'`, yet its first byte is still the quote the shell sees.
public enum ShellQuote {
    private static let singleQuote: UInt8 = 0x27

    /// `text` in single quotes, with embedded single quotes escaped, so the shell takes it as one word verbatim.
    public static func quote(_ text: String) -> String {
        var quoted: [UInt8] = [singleQuote]
        quoted.reserveCapacity(text.utf8.count + 2)
        for byte in text.utf8 {
            if byte == singleQuote {
                quoted += [singleQuote, 0x5C, singleQuote, singleQuote]  // '\''
            } else {
                quoted.append(byte)
            }
        }
        quoted.append(singleQuote)
        return String(decoding: quoted, as: UTF8.self)
    }
}

/// The exec request that runs a script under `/bin/sh` on a host, whatever the SSH user's login shell is.
///
/// sshd hands an exec request to the user's login shell. fish treats backslashes inside single quotes, csh
/// refuses newlines inside them, so a script quoted for `sh` means something else to them. The script therefore
/// travels base64-encoded, whose alphabet every shell takes literally, and `sh` decodes and runs it. The
/// command line on the host shows no secret: secrets go on stdin.
///
/// Every script starts with `umask 077`: what it creates (environment files, extracted releases, cookie files)
/// is the SSH user's alone unless the script says otherwise.
enum RemoteShell {
    /// `exec sh -c '…'` around `script`, safe under sh, bash, dash, zsh, fish, csh and tcsh.
    static func command(for script: String) -> String {
        let encoded = Base64.encode(Array("umask 077\n\(script)".utf8))
        return "exec sh -c 'eval \"$(printf %s \(encoded) | base64 -d)\"'"
    }
}
