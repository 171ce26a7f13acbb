/// One member of a tar archive, as its headers (ustar, GNU long names, pax) describe it.
struct TarEntry: Sendable, Equatable {
    /// What the member is.
    enum Kind: Sendable, Equatable {
        /// A regular file (types `0`, NUL and `7`).
        case file
        /// A directory (type `5`).
        case directory
        /// A symbolic link to `target` (type `2`).
        case symbolicLink(target: String)
        /// A hard link to the earlier member at `target` (type `1`).
        case hardLink(target: String)
        /// Anything else (FIFO, or a type this reader does not know), by its type byte.
        case other(UInt8)
    }

    /// The path, relative, without `./` or a trailing `/`, as `bin/service_app` or `releases/0.1.0`.
    let path: String
    /// What it is.
    let kind: Kind
    /// The size of its data in bytes.
    let size: Int
    /// Its permission bits.
    let mode: UInt32
}

/// Relative tar paths that stay inside the directory they are extracted to.
enum TarPath {
    /// The path's components without empty and `.` parts; nil when it is absolute or climbs with `..`.
    static func safeComponents(_ path: String) -> [Substring]? {
        guard !path.hasPrefix("/") else { return nil }
        let components = path.split(separator: "/").filter { $0 != "." }
        return components.contains("..") ? nil : components
    }

    /// Whether a symbolic link at `linkPath` pointing to `target` resolves inside the extraction directory.
    static func linkStaysInside(linkPath: [Substring], target: String) -> Bool {
        guard !target.hasPrefix("/") else { return false }
        var depth = linkPath.count - 1
        for component in target.split(separator: "/") where component != "." {
            depth += component == ".." ? -1 : 1
            if depth < 0 { return false }
        }
        return true
    }
}
