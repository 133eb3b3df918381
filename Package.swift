// swift-tools-version:6.0
import PackageDescription

// Dependency direction (see DEVELOPERS.md):
//   snapsync (CLI) → Pipeline → SyncStore → Postgres → libpq; the CLI hands Pipeline a MailboxSource (EWS → HTTP, XML).
//   SyncCore depends on nothing. ExchangeSimulator is a separate model of Exchange (XML only).
let package = Package(
    name: "snapsync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "snapsync", targets: ["snapsync"]),
        .executable(name: "exchange-sim", targets: ["exchange-sim"]),
        .executable(name: "snapsync-bench", targets: ["snapsync-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // MARK: C system libraries (module.modulemap + shim.h only)
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),

        // MARK: Swift layers over C
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ", "ChildProcesses", .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "HTTP",
            dependencies: [
                "CCurl", .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "XML", dependencies: ["CLibXML2"]),
        // Child processes (posix_spawn, reaped on a thread of their own): the product's, the benchmarks' and the tests'.
        .target(name: "ChildProcesses"),

        // MARK: Domain
        .target(name: "SyncCore"),
        .target(
            name: "EWS",
            dependencies: [
                "HTTP", "XML", "SyncCore", .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "Graph",
            dependencies: [
                "HTTP", "SyncCore", .product(name: "Logging", package: "swift-log"),
                // A certificate credential signs its client assertion (RSA-PSS, SHA-256).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]),
        .target(
            name: "SyncStore",
            dependencies: [
                "Postgres", "SyncCore", .product(name: "Logging", package: "swift-log"),
            ], resources: []),
        .target(
            name: "Pipeline",
            dependencies: [
                "SyncStore", "SyncCore", .product(name: "Logging", package: "swift-log"),
            ]),

        // MARK: Operations (logs and metrics; only the CLI bootstraps them)
        .target(
            name: "Observability",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ]),

        // MARK: Exchange simulator
        .target(
            name: "ExchangeSimulator",
            dependencies: [
                "XML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]),
        .executableTarget(
            name: "exchange-sim",
            dependencies: [
                "ExchangeSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // MARK: CLI
        .executableTarget(
            name: "snapsync",
            dependencies: [
                "Pipeline", "SyncStore", "SyncCore", "EWS", "Graph", "Postgres", "HTTP", "Observability",
                "ChildProcesses",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // MARK: Benchmarks
        .executableTarget(
            name: "snapsync-bench",
            dependencies: [
                "EWS", "Graph", "SyncCore", "SyncStore", "XML", "Postgres", "HTTP", "ChildProcesses",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // MARK: Tests
        .target(
            name: "TestSupport",
            dependencies: [
                "Postgres", "SyncStore", "ChildProcesses",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ], path: "Tests/TestSupport"),
        .target(
            name: "PipelineFakes",
            dependencies: [
                "SyncStore", "SyncCore", .product(name: "Logging", package: "swift-log"),
            ], path: "Tests/PipelineFakes"),  // an in-memory store and mailbox source for unit tests of the pipeline
        .testTarget(
            name: "PipelineUnitTests",
            dependencies: [
                "Pipeline", "PipelineFakes", "SyncStore", "SyncCore", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"]),
        .testTarget(name: "XMLTests", dependencies: ["XML"]),
        .testTarget(name: "EWSTests", dependencies: ["EWS", "TestSupport", "ExchangeSimulator"]),
        .testTarget(name: "SyncCoreTests", dependencies: ["SyncCore"]),
        .testTarget(name: "SyncStoreTests", dependencies: ["SyncStore", "TestSupport"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "SyncStore", "EWS", "Graph", "HTTP", "Postgres", "ExchangeSimulator", "TestSupport",
            ]),
        .testTarget(
            name: "ExchangeSimulatorTests",
            dependencies: [
                "ExchangeSimulator", "TestSupport", "HTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            exclude: ["Python"]),  // exchangelib scripts, run by path from the tests
        .testTarget(
            name: "GraphTests", dependencies: ["Graph", "HTTP", "SyncCore", "TestSupport", "ExchangeSimulator"]),
        .testTarget(
            name: "MailboxSourceContractTests",
            dependencies: [
                "EWS", "Graph", "SyncCore", "HTTP", "ExchangeSimulator",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "ObservabilityTests", dependencies: ["Observability"]),
        .testTarget(name: "JobsTests", dependencies: ["TestSupport", "Postgres"], exclude: ["Fixtures"]),
        .testTarget(
            name: "snapsyncTests",
            dependencies: [  // the CLI's pure pieces and its argument parsing
                "snapsync", "Pipeline", "SyncStore", "SyncCore", "Observability",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
    ]
)

// Package-wide: a member is visible only in files that import its module, so an undeclared dependency fails
// the build instead of leaking in through another import.
for target in package.targets where target.type != .system {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("MemberImportVisibility"), .enableUpcomingFeature("ExistentialAny"),
        ]
}
