// swift-tools-version: 6.1
//
// Chorus: distributed state for Swift. See DESIGN.md for the module map.
// Dependencies point down only: foundations ← data types ← protocol cores ←
// verification ← edges ← the `chorus` executable.

import Foundation
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// A library target with the package's Swift settings. A module's README.md
/// (its seam and contract, in prose) is documentation, not a resource.
func library(
    _ name: String, _ dependencies: [Target.Dependency] = [], exclude: [String] = [], resources: [Resource]? = nil
) -> Target {
    let readme = "\(Context.packageDirectory)/Sources/\(name)/README.md"
    let excluded = exclude + (FileManager.default.fileExists(atPath: readme) ? ["README.md"] : [])
    return .target(name: name, dependencies: dependencies, exclude: excluded, resources: resources, swiftSettings: strictSwift)
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
        .library(name: "ChorusSagas", targets: ["ChorusSagas"]),
        .library(name: "ChorusEventStore", targets: ["ChorusEventStore"]),
        .library(name: "ChorusReplication", targets: ["ChorusReplication"]),
        .library(name: "ChorusCheck", targets: ["ChorusCheck"]),
        .library(name: "ChorusSimulation", targets: ["ChorusSimulation"]),
        .library(name: "ChorusClient", targets: ["ChorusClient"]),
        .library(name: "ChorusRESP", targets: ["ChorusRESP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // The edges of the real cluster: ChorusNode, ChorusHTTP, ChorusClient.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // The Swift client's HTTP stack (pooling, keep-alive, TLS, HTTP/2) and its TLS settings.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.2"),
        // Token signatures (HMAC-SHA256) for client authorization.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The cluster CA and node certificates of mutual TLS between nodes (ChorusCertificates).
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        // SQLite read models of CQRS projections (ChorusReadModels).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // One trace per saga, a span per step attempt (ChorusService.SagaTracing); InMemoryTracing in tests.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
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
        // The machines one Raft group hosts, behind one ReplicatedStateMachine.
        library("ChorusMachines", ["ChorusCore", "ChorusKeyValue", "ChorusEventStore"]),
        // The replica driver: one Ready loop for the node and the simulator.
        library("ChorusReplica", ["ChorusCore", "ChorusRaft"]),
        // The saga orchestrator, its lock table and its checker (README in Sources/ChorusSagas).
        library("ChorusSagas", ["ChorusCore", "ChorusEventStore"]),
        library("ChorusEventStore", ["ChorusCore"]),
        // CQRS projections: definitions, the runner's decisions, waits for a position (README in Sources/ChorusProjections).
        library("ChorusProjections", ["ChorusCore", "ChorusEventStore"]),
        library("ChorusReplication", ["ChorusCore", "ChorusClocks", "ChorusCRDT"]),

        // Verification: history checkers and the deterministic simulator.
        library("ChorusCheck", ["ChorusCore"]),
        library("ChorusSimulation", [
            "ChorusCore", "ChorusRaft", "ChorusKeyValue", "ChorusEventStore", "ChorusMachines", "ChorusReplica",
            "ChorusCheck", "ChorusClocks", "ChorusCRDT", "ChorusReplication", "ChorusSagas",
        ]),

        // Edges: files and the system zlib.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        library("ChorusTraces", ["ChorusCore", "ChorusCRDT", "CZlib"]),
        library("ChorusStorage", ["ChorusCore"]),
        // The Raft wire codec: no NIO, no Foundation.
        library("ChorusWire", ["ChorusCore", "ChorusRaft"]),
        // The cluster CA, node certificates and the peer identity rule (README in Sources/ChorusCertificates).
        library("ChorusCertificates", [
            "ChorusCore",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ]),
        // The node runtime: one RaftNode on one NIO event loop, storage, TCP transport (mutual TLS), metrics.
        library("ChorusNode", [
            "ChorusCore", "ChorusRaft", "ChorusKeyValue", "ChorusMachines", "ChorusReplica", "ChorusStorage", "ChorusWire",
            "ChorusCertificates", "ChorusReplication",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The API's vocabulary shared by servers and clients: error codes, header names, levels.
        library("ChorusAPI", ["ChorusCore", "ChorusClocks"]),
        // Client authorization, pure: permissions, roles, token claims and their text form.
        library("ChorusAuthorization", ["ChorusCore", "ChorusAPI"]),
        // The protocol-neutral service layer between front ends and the node.
        library("ChorusService", [
            "ChorusAPI", "ChorusCore", "ChorusKeyValue", "ChorusMachines", "ChorusNode", "ChorusReplica",
            "ChorusEventStore", "ChorusAuthorization",
            "ChorusProjections", "ChorusReadModels", "ChorusSagas", "ChorusRaft", "ChorusReplication", "ChorusClocks", "ChorusRESP",
            "ChorusCRDT",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The SQLite read models of projections (GRDB 7): one transaction per batch with its checkpoint, rebuild swaps.
        library("ChorusReadModels", ["ChorusCore", "ChorusEventStore", "ChorusProjections", .product(name: "GRDB", package: "GRDB.swift")]),
        // The HTTP API on every node (Hummingbird 2) and its OpenAPI document.
        library("ChorusHTTP", [
            "ChorusAPI", "ChorusCore", "ChorusRaft", "ChorusKeyValue", "ChorusNode", "ChorusService", "ChorusEventStore",
            "ChorusAuthorization", "ChorusReplication", "ChorusClocks",
            "ChorusProjections", "ChorusReadModels", "ChorusSagas",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], resources: [.embedInCode("openapi.yaml"), .embedInCode("dashboard.html")]),
        // The async/await client, on async-http-client.
        library("ChorusClient", [
            "ChorusAPI", "ChorusCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The Redis-protocol (RESP2/RESP3) front end of leaderless keyspaces: codec, commands, NIO server.
        library("ChorusRESP", [
            "ChorusAPI", "ChorusCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["README.md"]),
        // The payment story's participants (inventory, payments, shipping): idempotent HTTP services with a ledger.
        library("ChorusShop", [
            "ChorusCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Local multi-process clusters (child `chorus node` processes) for
        // `chorus cluster up`, `chorus demo` and the real-process tests.
        library("ChorusLocalCluster", ["ChorusClient", "ChorusCertificates", "ChorusCore", "ChorusKeyValue"]),
        // The consistency lab (`chorus lab`) and the recorder the real-process tests share.
        library("ChorusLab", [
            "ChorusAPI", "ChorusCheck", "ChorusClient", "ChorusCore", "ChorusLocalCluster",
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),

        // Event-sourced aggregates over the event store: load (snapshot + later
        // events), decide, append at the expected revision; snapshots, upcasting, as-of reads.
        library("ChorusAggregates", ["ChorusAPI", "ChorusClient", "ChorusCore"]),
        // Real-process nemesis campaigns (`chorus nemesis`, the nemesis tests):
        // the register workload, partition faults, kill -9 rounds.
        library("ChorusNemesis", [
            "ChorusCheck", "ChorusClient", "ChorusCore", "ChorusLocalCluster",
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),

        // The one executable.
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusCore", "ChorusCRDT", "ChorusTraces", "ChorusCheck", "ChorusStorage", "ChorusSimulation",
                "ChorusRaft", "ChorusKeyValue", "ChorusWire", "ChorusNode", "ChorusHTTP", "ChorusClient",
                "ChorusLocalCluster", "ChorusTesting", "ChorusMachines", "ChorusReplica", "ChorusService", "ChorusAPI",
                "ChorusEventStore", "ChorusAuthorization", "ChorusLab", "ChorusProjections", "ChorusReadModels", "ChorusShop",
                "ChorusRESP", "ChorusReplication", "ChorusNemesis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),

        // The testing world, as NIO's NIOTestUtils and TigerBeetle's src/testing: the
        // fault-injecting file system, the storage stress workload, reference-data
        // lookup and the data-driven script runner. Tests and `chorus storage stress` only.
        library("ChorusTesting", [
            "ChorusCore", "ChorusStorage", "ChorusNode", "ChorusLocalCluster", "ChorusRaft",
            .product(name: "Logging", package: "swift-log"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),

        tests("ChorusCore", ["ChorusCore"]),
        tests("ChorusClocks", ["ChorusClocks"]),
        tests("ChorusCRDT", ["ChorusCRDT"]),
        tests("ChorusRaft", ["ChorusRaft", "ChorusTesting"], exclude: ["testdata"]),
        tests("ChorusKeyValue", ["ChorusKeyValue"]),
        tests("ChorusSagas", ["ChorusSagas", "ChorusCore", "ChorusEventStore"]),
        tests("ChorusCheck", ["ChorusCheck", "ChorusCore", "ChorusTesting", "ChorusSimulation"]),
        tests("ChorusSimulation", ["ChorusSimulation", "ChorusTesting", "ChorusReplication", "ChorusCheck", "ChorusCore", "ChorusSagas"]),
        tests("ChorusTraces", ["ChorusTraces", "ChorusCRDT", "ChorusTesting"]),
        tests("ChorusStorage", ["ChorusStorage", "ChorusTesting"]),
        tests("ChorusEventStore", ["ChorusEventStore", "ChorusCore"]),
        tests("ChorusProjections", ["ChorusProjections", "ChorusEventStore", "ChorusCore", "ChorusTesting"]),
        tests("ChorusReadModels", ["ChorusReadModels", "ChorusProjections", "ChorusEventStore", "ChorusCore"]),
        tests("ChorusReplication", ["ChorusReplication", "ChorusCRDT", "ChorusClocks", "ChorusCore"]),
        tests("ChorusWire", ["ChorusWire", "ChorusRaft", "ChorusCore"]),
        tests("ChorusCertificates", [
            "ChorusCertificates", "ChorusCore", .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ]),
        tests("ChorusNode", [
            "ChorusNode", "ChorusLocalCluster", "ChorusMachines", "ChorusReplica", "ChorusWire", "ChorusRaft", "ChorusKeyValue",
            "ChorusCore", "ChorusStorage", "ChorusTesting", "ChorusCertificates", "ChorusReplication", "ChorusCRDT",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        tests("ChorusReplica", ["ChorusReplica", "ChorusRaft", "ChorusCore", "ChorusMachines", "ChorusKeyValue"]),
        tests("ChorusMachines", ["ChorusMachines", "ChorusKeyValue", "ChorusEventStore", "ChorusCore"]),
        tests("ChorusAPI", ["ChorusAPI", "ChorusCore", "ChorusClocks"]),
        tests("ChorusAuthorization", ["ChorusAuthorization", "ChorusCore"]),
        tests("ChorusHTTP", [
            "ChorusHTTP", "ChorusNode", "ChorusService", "ChorusAPI", "ChorusCore", "ChorusLocalCluster", "ChorusTesting",
            "ChorusEventStore", "ChorusRaft", "ChorusAuthorization", "ChorusProjections", "ChorusReadModels", "ChorusSagas",
            .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        tests("ChorusService", [
            "ChorusService", "ChorusNode", "ChorusAPI", "ChorusCore", "ChorusEventStore", "ChorusLocalCluster", "ChorusRaft", "ChorusTesting", "ChorusAuthorization",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The client against an in-process node and a scripted server (plain HTTP and HTTPS).
        tests("ChorusClient", [
            "ChorusClient", "ChorusAPI", "ChorusCore", "ChorusNode", "ChorusHTTP", "ChorusLocalCluster", "ChorusTesting",
            "ChorusService", "ChorusAuthorization",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], exclude: ["Fixtures"]),
        tests("ChorusLocalCluster", ["ChorusLocalCluster", "ChorusClient"]),
        tests("ChorusAggregates", ["ChorusAggregates", "ChorusClient", "ChorusCore"]),
        tests("ChorusLab", ["ChorusLab", "ChorusCheck", "ChorusCore"]),
        // Real `chorus node` processes: the HTTP API end to end, nemeses, recovery, the demo.
        .testTarget(
            name: "ChorusIntegrationTests",
            dependencies: [
                "ChorusAPI", "ChorusClient", "ChorusLocalCluster", "ChorusCheck", "ChorusCore", "ChorusTesting", "ChorusLab",
                "ChorusNemesis", "ChorusAggregates", "ChorusEventStore", "ChorusProjections", "ChorusReadModels", "ChorusSagas", "ChorusShop",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift),
        tests("ChorusTesting", ["ChorusTesting"]),
        tests("ChorusRESP", [
            "ChorusRESP", "ChorusAPI", "ChorusCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
