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
    }

    /// The path, relative, without `./` or a trailing `/`, as `bin/service_app` or `releases/0.1.0`.
    let path: String
    /// What it is.
    let kind: Kind
    /// The size of its data in bytes.
    let size: Int
    /// Its permission bits.
    let mode: UInt32
    /// Its data, for the members the scanner was asked to keep (`TarScanner.keptMembers`); nil otherwise.
    var data: [UInt8]? = nil
}

/// Relative tar paths that stay inside the directory they are extracted to.
enum TarPath {
    /// The path's components without empty and `.` parts; nil when it is absolute or climbs with `..`.
    static func safeComponents(_ path: String) -> [Substring]? {
        guard !path.hasPrefix("/") else { return nil }
        let components = path.split(separator: "/").filter { $0 != "." }
        return components.contains("..") ? nil : components
    }
}

/// The symbolic links an archive has created so far, to resolve later paths as tar would follow them.
struct TarLinks {
    /// Link location (resolved components from the extraction root, joined with `/`) to its target.
    private var targets: [String: String] = [:]
    /// Bounds the links followed while resolving one path, as the kernel's ELOOP does.
    private static let maximumFollowed = 40
    /// Bounds the links remembered, so an archive of links alone cannot grow this without end.
    static let maximumLinks = 10_000

    /// Remembers a link at `location` (resolved components) pointing to `target`.
    mutating func add(_ location: [String], target: String) {
        guard targets.count < Self.maximumLinks else { return }
        targets[location.joined(separator: "/")] = target
    }

    /// `components` (relative to the root) resolved through the links seen so far: the location from the root,
    /// or nil when it climbs out of the root or follows too many links.
    func resolve(_ components: some Collection<some StringProtocol>) -> [String]? {
        var followed = 0
        return resolve(components.map { String($0) }, from: [], followed: &followed)
    }

    private func resolve(_ components: [String], from start: [String], followed: inout Int) -> [String]? {
        var location = start
        // The joined form, kept as the location changes, is the lookup key (no join per component).
        var key = start.joined(separator: "/")
        for component in components where component != "." && !component.isEmpty {
            if component == ".." {
                guard let last = location.popLast() else { return nil }
                key.removeLast(min(key.utf8.count, last.utf8.count + (location.isEmpty ? 0 : 1)))
                continue
            }
            key += location.isEmpty ? component : "/" + component
            location.append(component)
            guard !targets.isEmpty, let target = targets[key] else { continue }
            followed += 1
            guard followed <= Self.maximumFollowed, !target.hasPrefix("/") else { return nil }
            location.removeLast()
            guard let resolved = resolve(target.split(separator: "/").map(String.init), from: location, followed: &followed)
            else { return nil }
            location = resolved
            key = location.joined(separator: "/")
        }
        return location
    }
}
