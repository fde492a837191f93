// swift-tools-version: 6.1
//
// Chorus: distributed state for Swift. See DESIGN.md for the module map.
// Dependencies point down only: foundations ← data types ← protocol cores ←
// verification ← edges ← the `chorus` executable.

import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

/// A library target with the package's Swift settings.
func library(_ name: String, _ dependencies: [Target.Dependency] = [], exclude: [String] = []) -> Target {
    .target(name: name, dependencies: dependencies, exclude: exclude, swiftSettings: strictSwift)
}

/// A test target mirroring `Sources/<name>` in `Tests/<name>Tests`.
func tests(_ name: String, _ dependencies: [Target.Dependency], exclude: [String] = []) -> Target {
    .testTarget(name: name + "Tests", dependencies: dependencies, exclude: exclude, swiftSettings: strictSwift)
}

let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        .library(name: "ChorusCore", targets: ["ChorusCore"]),
        .library(name: "ChorusClocks", targets: ["ChorusClocks"]),
        .library(name: "ChorusCRDT", targets: ["ChorusCRDT"]),
        .library(name: "ChorusRaft", targets: ["ChorusRaft"]),
        .library(name: "ChorusKeyValue", targets: ["ChorusKeyValue"]),
        .library(name: "ChorusCheck", targets: ["ChorusCheck"]),
        .library(name: "ChorusSimulation", targets: ["ChorusSimulation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // Foundations: standard library only.
        library("ChorusCore"),
        library("ChorusClocks", ["ChorusCore"]),

        // Data types: foundations only.
        library("ChorusCRDT", ["ChorusCore", "ChorusClocks"]),

        // Protocol cores and the state machines they replicate: no Foundation, no NIO.
        library("ChorusRaft", ["ChorusCore"]),
        library("ChorusKeyValue", ["ChorusCore"]),

        // Verification: history checkers and the deterministic simulator.
        library("ChorusCheck", ["ChorusCore"]),
        library("ChorusSimulation", ["ChorusCore", "ChorusRaft", "ChorusKeyValue", "ChorusCheck"]),

        // Edges: files and the system zlib.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        library("ChorusTraces", ["ChorusCore", "ChorusCRDT", "CZlib"]),
        library("ChorusStorage", ["ChorusCore"]),

        // The one executable.
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusCore", "ChorusCRDT", "ChorusTraces", "ChorusCheck", "ChorusStorage", "ChorusSimulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),

        // Test support: reference-data lookup and the data-driven script runner. Tests only.
        library("ChorusTestSupport"),

        tests("ChorusCore", ["ChorusCore"]),
        tests("ChorusClocks", ["ChorusClocks"]),
        tests("ChorusCRDT", ["ChorusCRDT"]),
        tests("ChorusRaft", ["ChorusRaft", "ChorusTestSupport"], exclude: ["testdata"]),
        tests("ChorusKeyValue", ["ChorusKeyValue"]),
        tests("ChorusCheck", ["ChorusCheck", "ChorusCore", "ChorusTestSupport"]),
        tests("ChorusSimulation", ["ChorusSimulation", "ChorusTestSupport"]),
        tests("ChorusTraces", ["ChorusTraces", "ChorusCRDT", "ChorusTestSupport"]),
        tests("ChorusStorage", ["ChorusStorage", "ChorusTestSupport"]),
        tests("ChorusTestSupport", ["ChorusTestSupport"]),
    ]
)
