// swift-tools-version: 6.0
import PackageDescription

/// Settings every target shares: Swift 6 mode plus the upcoming features CONVENTIONS.md asks for.
let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

/// A library target of Sources/Shared: one folder, one concern (docs/ARCHITECTURE.md).
func library(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .target(name: name, dependencies: dependencies, path: "Sources/Shared/\(name)", swiftSettings: settings)
}

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
        // Snowflake's key-pair sign-in: RSA signatures, PBKDF2 and AES-CBC for encrypted PKCS#8
        // keys; swift-asn1 (swift-crypto's own dependency) reads the key files' DER.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // C libraries, as system-library targets (Debian's -dev packages).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // The library, Sources/Shared: arrows point one way, from the top of this list down.
        // Values every layer shares: errors and exit codes, state values, column kinds, messages, processes.
        library("Core", []),
        // NDJSON on bytes: the strict parser, the line reader, the row scanner, group-safe output.
        library("Stream", ["Core"]),
        // ingest.yml: the model, loading (Yams), ${VAR} interpolation, validation, :last_value lexing.
        library("Config", ["Core", .product(name: "Yams", package: "Yams")]),
        // The state file, run locks, the checkpoint ledger, the commit runner.
        library("State", ["Core", "Stream", "Config"]),
        // Source-independent extraction and the protocol every source implements.
        library("Extract", ["Core", "Stream", "Config", "State"]),
        // Destination-independent loading and the protocol every destination implements.
        library("Load", ["Core", "Stream", "Config", "State"]),
        // What a warehouse destination speaks: HTTP (libcurl, gzip bodies, retry timing) and Arrow
        // IPC streams (query results). Neither knows a warehouse.
        library("HTTP", ["Core", "CCurl", "CZlib"]),
        library("Arrow", ["Stream"]),
        // The databases: the only targets that see a C library (besides HTTP's libcurl and zlib).
        library("Postgres", ["Core", "Stream", "Config", "State", "Extract", "Load", "CLibPQ"]),
        library("SQLite", ["Core", "Stream", "Config", "Extract", "Load", "CSQLite"]),
        // The warehouse: Snowflake's query protocol over HTTP, its results read as Arrow.
        library(
            "Snowflake",
            [
                "Core", "Stream", "Config", "Load", "HTTP", "Arrow",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]),
        // swift-argument-parser glue and the one place that knows every source and destination.
        library(
            "CLI", ["Core", "Stream", "Config", "State", "Extract", "Load", "Postgres", "SQLite", "Snowflake", argumentParser]),

        // The three executables: command-line surface only.
        .executableTarget(
            name: "conduit-extract", dependencies: ["CLI", "Core", "Config", "State", "Extract", argumentParser],
            swiftSettings: settings),
        .executableTarget(
            name: "conduit-load", dependencies: ["CLI", "Core", "Config", "State", "Extract", "Load", argumentParser],
            swiftSettings: settings),
        .executableTarget(
            name: "conduit-state", dependencies: ["CLI", "Core", "Config", "Stream", "State", argumentParser],
            swiftSettings: settings),

        // Tests, one target per concern. EndToEndTests runs the built executables through real pipes.
        // What several test targets share, and no assertions: the sandbox folder, the seeded
        // generator, the base ingest.yml.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: settings),
        .testTarget(name: "StreamTests", dependencies: ["Core", "Stream"], swiftSettings: settings),
        .testTarget(
            name: "ConfigTests", dependencies: ["Core", "Config", "State", "CLI", "Postgres", "SQLite", "TestSupport"],
            swiftSettings: settings),
        .testTarget(name: "StateTests", dependencies: ["Core", "Stream", "State", "TestSupport"], swiftSettings: settings),
        .testTarget(name: "CoreTests", dependencies: ["Core"], swiftSettings: settings),
        .testTarget(
            name: "ExtractTests", dependencies: ["Core", "Config", "Extract", "Postgres", "SQLite"], swiftSettings: settings),
        .testTarget(
            name: "LoadTests", dependencies: ["Core", "Stream", "Config", "State", "Extract", "Load", "SQLite", "TestSupport"],
            swiftSettings: settings),
        .testTarget(name: "SQLiteTests", dependencies: ["Core", "SQLite"], swiftSettings: settings),
        .testTarget(
            name: "SnowflakeTests",
            dependencies: [
                "Core", "Stream", "Config", "Load", "HTTP", "Snowflake", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            resources: [.copy("Captured")], swiftSettings: settings),
        // The Arrow reader on the fakesnow answers and pyarrow streams SnowflakeTests keeps (one
        // folder, one capture script: SnowflakeResultTests reads the same answers).
        .testTarget(
            name: "ArrowTests", dependencies: ["Arrow", "TestSupport"], resources: [.copy("../SnowflakeTests/Captured")],
            swiftSettings: settings),
        .testTarget(name: "PostgresTests", dependencies: ["Core", "Stream", "Postgres", "TestSupport"], swiftSettings: settings),
        // Seeded mutation fuzzing of what a user controls: NDJSON lines, ingest.yml, the state file.
        .testTarget(
            name: "FuzzTests", dependencies: ["Core", "Stream", "Config", "State", "CLI", "TestSupport"], swiftSettings: settings),
        // The architecture's rules the compiler cannot check: the shared layers name no connector.
        .testTarget(name: "ArchitectureTests", dependencies: ["Config", "Extract", "Load", "CLI"], swiftSettings: settings),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["conduit-extract", "conduit-load", "conduit-state", "TestSupport"],
            swiftSettings: settings
        ),
    ]
)
