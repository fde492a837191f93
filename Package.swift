// swift-tools-version: 6.1
//
// Chorus: distributed state for Swift. See DESIGN.md for the module map.
// Dependencies point down only: foundations ← data types ← protocol cores ←
// verification ← edges ← the `chorus` executable.

import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        .library(name: "ChorusCore", targets: ["ChorusCore"]),
        .library(name: "ChorusCheck", targets: ["ChorusCheck"]),
        .library(name: "ChorusRaft", targets: ["ChorusRaft"]),
        .library(name: "ChorusKeyValue", targets: ["ChorusKeyValue"]),
        .library(name: "ChorusSimulation", targets: ["ChorusSimulation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // Edges of the real cluster (issue 5): ChorusNode, ChorusHTTP, ChorusClient.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Foundations: standard library only.
        .target(name: "ChorusCore", swiftSettings: strictSwift),

        // Verification: history formats, models, linearizability and sequential-consistency checkers.
        .target(name: "ChorusCheck", dependencies: ["ChorusCore"], swiftSettings: strictSwift),

        // Protocol cores and the state machines they replicate: standard library + ChorusCore.
        .target(name: "ChorusRaft", dependencies: ["ChorusCore"], swiftSettings: strictSwift),
        .target(name: "ChorusKeyValue", dependencies: ["ChorusCore"], swiftSettings: strictSwift),

        // Verification: the deterministic simulator.
        .target(
            name: "ChorusSimulation", dependencies: ["ChorusCore", "ChorusRaft", "ChorusKeyValue", "ChorusCheck"],
            swiftSettings: strictSwift),
        // Edges: the write-ahead log, snapshots and files (POSIX I/O; no NIO).
        .target(name: "ChorusStorage", dependencies: ["ChorusCore"], swiftSettings: strictSwift),

        // Edges: the Raft wire codec (standard library + ChorusCore + ChorusRaft; no NIO, no Foundation).
        .target(name: "ChorusWire", dependencies: ["ChorusCore", "ChorusRaft"], swiftSettings: strictSwift),
        // Edges: the node runtime (one RaftNode on one NIO event loop, storage, TCP transport, metrics).
        .target(
            name: "ChorusNode",
            dependencies: [
                "ChorusCore", "ChorusRaft", "ChorusKeyValue", "ChorusStorage", "ChorusWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift),
        // Edges: the HTTP API on every node (Hummingbird 2) and its OpenAPI document.
        .target(
            name: "ChorusHTTP",
            dependencies: [
                "ChorusCore", "ChorusRaft", "ChorusKeyValue", "ChorusNode",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["openapi.yaml"],
            swiftSettings: strictSwift),
        // Edges: the async/await client (a small HTTP/1.1 client on NIOHTTP1).
        .target(
            name: "ChorusClient",
            dependencies: [
                "ChorusCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift),

        // Edges: local multi-process clusters (child `chorus node` processes) for
        // `chorus cluster up`, `chorus demo` and the real-process tests.
        .target(name: "ChorusLocalCluster", dependencies: ["ChorusClient"], swiftSettings: strictSwift),

        // The one executable.
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusCore",
                "ChorusCheck",
                "ChorusSimulation",
                "ChorusStorage",
                "ChorusNode",
                "ChorusHTTP",
                "ChorusClient",
                "ChorusLocalCluster",
                "ChorusKeyValue",
                "ChorusRaft",
                "ChorusWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),

        // Test support: reference-data lookup and data-driven script runner. Tests only.
        .target(name: "ChorusTestSupport", swiftSettings: strictSwift),

        .testTarget(name: "ChorusCoreTests", dependencies: ["ChorusCore"], swiftSettings: strictSwift),
        .testTarget(
            name: "ChorusCheckTests", dependencies: ["ChorusCheck", "ChorusCore", "ChorusTestSupport"],
            swiftSettings: strictSwift),
        .testTarget(name: "ChorusTestSupportTests", dependencies: ["ChorusTestSupport"], swiftSettings: strictSwift),
        .testTarget(
            name: "ChorusRaftTests", dependencies: ["ChorusRaft", "ChorusTestSupport"],
            swiftSettings: strictSwift),
        .testTarget(name: "ChorusKeyValueTests", dependencies: ["ChorusKeyValue"], swiftSettings: strictSwift),
        .testTarget(
            name: "ChorusSimulationTests", dependencies: ["ChorusSimulation", "ChorusTestSupport"],
            swiftSettings: strictSwift),
        .testTarget(
            name: "ChorusStorageTests", dependencies: ["ChorusStorage", "ChorusTestSupport"],
            swiftSettings: strictSwift),
        .testTarget(
            name: "ChorusWireTests", dependencies: ["ChorusWire", "ChorusRaft", "ChorusCore"], swiftSettings: strictSwift),
        .testTarget(
            name: "ChorusNodeTests",
            dependencies: [
                "ChorusNode", "ChorusHTTP", "ChorusClient", "ChorusLocalCluster", "ChorusWire", "ChorusRaft", "ChorusKeyValue",
                "ChorusCheck", "ChorusCore", "ChorusStorage",
                "ChorusTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift),
    ]
)
