// swift-tools-version:6.0
// libFuzzer targets for controlnode's parsers of untrusted input. A package of its own, so the product's
// `swift build` neither builds nor links them; `scripts/fuzz.sh` builds them with libFuzzer and the address
// sanitizer (which instrument the library they test, too) in a debug build, where `@testable import` reaches
// the internal parsers without making them public. The target list is read by `scripts/fuzz.sh --list`.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// One libFuzzer executable per parser: each defines `LLVMFuzzerTestOneInput`, and libFuzzer supplies `main`.
func fuzzTarget(_ name: String, dependencies: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: [.product(name: "ReleaseSupervisor", package: "controlnode")] + dependencies,
        swiftSettings: strictSettings
    )
}

let targets = [
    "term-decoder", "distribution-framing", "handshake", "epmd", "toml-config", "tar", "gzip-tar", "known-hosts",
    "control-request",
]

let package = Package(
    name: "controlnode-fuzz",
    platforms: [.macOS(.v15)],
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(name: "controlnode", path: "..")],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [.product(name: "ReleaseSupervisor", package: "controlnode")],
            swiftSettings: strictSettings
        ),
        fuzzTarget("term-decoder"),
        fuzzTarget("distribution-framing", dependencies: ["FuzzSupport"]),
        fuzzTarget("handshake", dependencies: ["FuzzSupport"]),
        fuzzTarget("epmd", dependencies: ["FuzzSupport"]),
        fuzzTarget("toml-config"),
        fuzzTarget("tar", dependencies: ["FuzzSupport"]),
        fuzzTarget("gzip-tar", dependencies: ["FuzzSupport"]),
        fuzzTarget("known-hosts"),
        // The daemon's request line, with the daemon's own source (linked in Sources/control-request), since
        // an executable target cannot be imported.
        fuzzTarget("control-request"),
    ],
    swiftLanguageModes: [.v6]
)
