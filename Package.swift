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

        // The one executable.
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusCore",
                "ChorusCheck",
                "ChorusSimulation",
                "ChorusStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
    ]
)
