/// Names a release's environment may use: a letter or `_`, then letters, digits and `_`, in ASCII.
public enum EnvironmentName {
    /// Whether `name` is a portable shell variable name.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, first == 0x5F || isLetter(first) else { return false }
        return bytes.allSatisfy { $0 == 0x5F || isLetter($0) || (0x30...0x39).contains($0) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
}

extension EnvironmentName {
    /// Why `name` is not the release's to set in `env`, or nil when it may: names controlnode sets itself, that
    /// would start another version than the one recorded, or that change what the host's shell and loader run.
    public static func ownedByDaemon(_ name: String) -> String? {
        switch name {
        case "RELEASE_COOKIE": "controlnode passes the cookie from cookie_file"
        case "HOME": "controlnode sets it to base_path, where the node reads its cookie"
        case "RELEASE_PROG", "RELEASE_ROOT": "controlnode and the release's own script set it"
        case "RELEASE_VSN", "RELEASE_BOOT_SCRIPT": "it would boot another version than the one deployed"
        case "PATH", "IFS", "ENV", "BASH_ENV", "SHELL": "it changes what the start script runs on the host"
        default: name.hasPrefix("LD_") ? "it changes what the host's dynamic loader loads into the VM" : nil
        }
    }
}
