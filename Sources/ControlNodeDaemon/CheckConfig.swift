import ArgumentParser
import ReleaseSupervisor

/// `controlnode check-config [FILE]`: validates the configuration without starting anything.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file (and the cookie and key files it names) without starting anything."
    )

    @Argument(help: "The configuration file.")
    var file: String = ControlNodeConfig.defaultPath

    func run() throws {
        do {
            let loaded = try ControlNodeConfig.load(path: file)
            for warning in loaded.warnings { standardError("warning: \(warning)") }
            let pairs = loaded.config.releases.values.reduce(0) { $0 + $1.hosts.count }
            line(
                "\(file): valid: \(loaded.config.hosts.count) hosts, \(loaded.config.releases.count) releases, "
                    + "\(pairs) (release, host) pairs")
        } catch {
            standardError("controlnode: \(error)")
            throw ExitCode(2)
        }
    }
}

/// `controlnode registry add|list`: the local store of release tarballs.
struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Add release tarballs to the local registry, or list what it holds.",
        subcommands: [Add.self, List.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "The registry directory (default: the configuration's daemon.registry).")
        var registry: String?

        @Option(help: "The configuration file, for daemon.registry.")
        var config: String = ControlNodeConfig.defaultPath

        func open() throws -> Registry {
            let directory = try registry ?? ControlNodeConfig.load(path: config).config.daemon.registry
            return try Registry(directory: directory)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a <name>-<version>.tar.gz built by mix release and store it with its SHA-256.")

        @Argument(help: "The tarball.") var tarball: String
        @OptionGroup var options: Options

        func run() throws {
            do {
                let entry = try options.open().store(tarball)
                line("stored \(entry.name) \(entry.version) (sha256 \(entry.sha256), \(entry.size) bytes)")
            } catch {
                standardError("controlnode: \(error)")
                throw ExitCode(2)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the releases and versions in the registry.")

        @OptionGroup var options: Options
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() throws {
            do {
                let releases = try options.open().list()
                if json {
                    let objects = releases.keys.sorted().map { name in
                        "{\"release\":\"\(name)\",\"versions\":["
                            + releases[name]!.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
                    }
                    line("[" + objects.joined(separator: ",") + "]")
                } else if releases.isEmpty {
                    line("the registry is empty; add a tarball with `controlnode registry add`")
                } else {
                    for name in releases.keys.sorted() {
                        line("\(name)  \(releases[name]!.map { "\($0)" }.joined(separator: "  "))")
                    }
                }
            } catch {
                standardError("controlnode: \(error)")
                throw ExitCode(2)
            }
        }
    }
}
