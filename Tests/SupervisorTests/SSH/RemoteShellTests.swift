import Foundation
import Testing

@testable import ReleaseSupervisor

@Suite("Quoting on bytes and scripts that mean the same under every login shell")
struct RemoteShellTests {
    /// A `'` followed by a combining acute accent: one Swift `Character` that is not `'`.
    static let combiningQuote = "'\u{301}"

    @Test("a quote followed by a combining mark is escaped: the shell gets one word, nothing runs")
    func combiningCharacter() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let marker = directory.file("PWNED")
        let hostile = "/opt/x\(Self.combiningQuote); touch \(marker); echo \(Self.combiningQuote)"
        let quoted = ShellQuote.quote(hostile)
        #expect(!quoted.utf8.elementsEqual(("'" + hostile + "'").utf8))
        let run = try runCommand("/bin/sh", ["-c", "printf '%s' \(quoted)"])
        #expect(run.status == 0)
        #expect(run.output == hostile)
        #expect(!FileManager.default.fileExists(atPath: marker), "the quoted word ran a command")
    }

    @Test("quoting keeps every byte of awkward words")
    func awkwardWords() throws {
        for word in ["", "'", "''", "a b", "$(id)", "`id`", "\\", "\n", "é", "\(Self.combiningQuote)x", "!x"] {
            let run = try runCommand("/bin/sh", ["-c", "printf '%s' \(ShellQuote.quote(word))"])
            #expect(run.output == word, "word \(word.debugDescription)")
        }
    }

    /// A script using what ours do: quotes, backslashes, newlines, `$`, `!`, a here-document and a combining mark.
    static let script = #"""
        set -e
        word='it'\''s'
        printf '%s|%s|%s\n' "$word" 'a\\b' "!bang"
        cat <<'END'
        line with $HOME and \n
        END
        printf '%s\n' \#(ShellQuote.quote("q\(combiningQuote)"))
        exit 7
        """#

    @Test(
        "the exec line runs the script under sh the same way from sh, bash, dash, zsh, fish and tcsh",
        arguments: ["/bin/sh", "/bin/bash", "/bin/dash", "/usr/bin/zsh", "/usr/bin/fish", "/usr/bin/tcsh"])
    func everyLoginShell(shell: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: shell), "\(shell) is not installed (scripts/install-deps.sh installs it)")
        let command = RemoteShell.command(for: Self.script)
        // Only characters every shell takes literally inside single quotes travel with the script.
        let payload = command.split(separator: " ").dropFirst(6).first ?? ""
        #expect(payload.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+/=".contains($0)) })
        // A login shell runs `$SHELL -c <command>`, as sshd does.
        let run = try runCommand(shell, ["-c", command], environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"])
        #expect(run.status == 7, "\(shell): \(run.output)")
        let expected = "it's|a\\\\b|!bang\nline with $HOME and \\n\nq\(Self.combiningQuote)\n"
        #expect(run.output == expected, "\(shell)")
    }

    @Test("host text loses its control sequences before it reaches status or a terminal")
    func controlCharacters() {
        #expect(DisplayText.sanitized("plain\nline\ttab") == "plain\nline\ttab")
        #expect(DisplayText.sanitized("\u{1B}[2Jgone\r") == "\\u{1b}[2Jgone\\u{d}")
        #expect(DisplayText.sanitized("a\u{202E}b\u{85}") == "a\\u{202e}b\\u{85}")
        let error = ReleaseError(.hostCommandFailed, release: "r", host: "h", "out: \u{1B}]0;title\u{7}")
        #expect(!error.description.unicodeScalars.contains { $0.value == 0x1B || $0.value == 7 })
    }
}
