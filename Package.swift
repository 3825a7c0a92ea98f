// swift-tools-version: 6.0
import PackageDescription

/// Settings every target shares: Swift 6 mode plus the upcoming features CONVENTIONS.md asks for.
let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "conduit",
    products: [
        .executable(name: "conduit-extract", targets: ["conduit-extract"]),
        .executable(name: "conduit-load", targets: ["conduit-load"]),
        .executable(name: "conduit-state", targets: ["conduit-state"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, as system-library targets (Debian's -dev packages).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        // The library: all logic lives here so tests can reach it.
        .target(
            name: "Shared",
            dependencies: [
                "CLibPQ", "CSQLite",
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: settings
        ),

        // The three executables: command-line surface only.
        .executableTarget(
            name: "conduit-extract",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "conduit-load",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "conduit-state",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: settings
        ),

        // Tests, one target per concern. EndToEndTests runs the built executables through real pipes.
        .testTarget(name: "StreamTests", dependencies: ["Shared"], swiftSettings: settings),
        .testTarget(name: "ConfigTests", dependencies: ["Shared"], swiftSettings: settings),
        .testTarget(name: "StateTests", dependencies: ["Shared"], swiftSettings: settings),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["Shared", "conduit-extract", "conduit-load", "conduit-state"],
            swiftSettings: settings
        ),
    ]
)
