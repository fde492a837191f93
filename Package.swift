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
        .library(name: "ChorusClocks", targets: ["ChorusClocks"]),
        .library(name: "ChorusCRDT", targets: ["ChorusCRDT"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // Foundations: standard library only.
        .target(name: "ChorusCore", swiftSettings: strictSwift),
        .target(name: "ChorusClocks", dependencies: ["ChorusCore"], swiftSettings: strictSwift),

        // Data types: foundations only.
        .target(name: "ChorusCRDT", dependencies: ["ChorusCore", "ChorusClocks"], swiftSettings: strictSwift),

        // Edges: the system zlib, and editing-trace loading (gzip + JSON → compact patch arrays).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "ChorusTraces", dependencies: ["ChorusCore", "ChorusCRDT", "CZlib"], swiftSettings: strictSwift),

        // The one executable.
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusCore",
                "ChorusCRDT",
                "ChorusTraces",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),

        // Test support: reference-data lookup and data-driven script runner. Tests only.
        .target(name: "ChorusTestSupport", swiftSettings: strictSwift),

        .testTarget(name: "ChorusCoreTests", dependencies: ["ChorusCore"], swiftSettings: strictSwift),
        .testTarget(name: "ChorusTestSupportTests", dependencies: ["ChorusTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "ChorusClocksTests", dependencies: ["ChorusClocks"], swiftSettings: strictSwift),
        .testTarget(name: "ChorusCRDTTests", dependencies: ["ChorusCRDT"], swiftSettings: strictSwift),
        .testTarget(
            name: "ChorusTracesTests",
            dependencies: ["ChorusTraces", "ChorusCRDT", "ChorusTestSupport"],
            swiftSettings: strictSwift
        ),
    ]
)
