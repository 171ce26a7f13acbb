#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to stdout at once (no buffering: scripts and pipes see progress as it happens).
func line(_ text: String) { writeLine(text, to: 1) }

/// Writes one line to stderr.
func standardError(_ text: String) { writeLine(text, to: 2) }

private func writeLine(_ text: String, to descriptor: Int32) {
    let bytes = Array((text + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
        if count <= 0 { return }
        written += count
    }
}
