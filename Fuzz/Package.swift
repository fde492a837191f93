// swift-tools-version: 6.1
//
// libFuzzer targets for every Chorus decoder, in a package of their own so the
// main build never sees the fuzzer flags. Build and run them all with
// `Scripts/fuzz.sh [SECONDS]` from the repository root; see README.md.
//
//     swift build --package-path Fuzz -c debug \
//         -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
//
// The main package is a path dependency (`..`). Its library products are used
// as products. The few targets it does not export as products (ChorusWire,
// ChorusStorage, ChorusMachines, ChorusTraces) are compiled here from the same
// sources, through the symbolic links `Fuzz/Sources/Fuzzed<Target>`, under
// those names (SwiftPM refuses two packages with several targets of one name),
// so nothing in the main package changes for the fuzzers. `FuzzedZlib` is a
// copy of `Sources/CZlib`'s module map, declaring the same `CZlib` module.

import PackageDescription

/// A path dependency's identity is the last component of its directory, which
/// differs between checkouts (`main`, a worktree, CI's clone).
let chorus = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "chorus").lowercased()

func product(_ name: String) -> Target.Dependency { .product(name: name, package: chorus) }

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// One libFuzzer executable: `Sources/<name>/<name>.swift` with the
/// `LLVMFuzzerTestOneInput` entry point, and its seeds in `Corpus/<name>/`.
func fuzzer(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, swiftSettings: swift6)
}

let package = Package(
    name: "ChorusFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["FuzzDriver"], swiftSettings: swift6),
        .target(name: "FuzzFileSystem", dependencies: ["FuzzedChorusStorage"], swiftSettings: swift6),

        // The main package's targets that are not products, from its own sources.
        .systemLibrary(name: "FuzzedZlib"),
        .target(name: "FuzzedChorusWire", dependencies: [product("ChorusCore"), product("ChorusRaft")], swiftSettings: swift6),
        .target(name: "FuzzedChorusStorage", dependencies: [product("ChorusCore")], swiftSettings: swift6),
        .target(
            name: "FuzzedChorusMachines", dependencies: [product("ChorusCore"), product("ChorusKeyValue")],
            swiftSettings: swift6),
        .target(
            name: "FuzzedChorusTraces",
            dependencies: [product("ChorusCore"), product("ChorusCRDT"), product("ChorusClocks"), "FuzzedZlib"],
            swiftSettings: swift6),

        // One fuzzer per decoder family (README.md lists what each covers).
        fuzzer("FuzzWireFrame", ["FuzzedChorusWire", product("ChorusCore"), product("ChorusRaft")]),
        fuzzer("FuzzRaftMessage", ["FuzzedChorusWire", product("ChorusCore"), product("ChorusRaft")]),
        fuzzer("FuzzPersistence", [
            "FuzzedChorusWire", "FuzzedChorusMachines", product("ChorusCore"), product("ChorusRaft"), product("ChorusKeyValue"),
        ]),
        fuzzer("FuzzSegment", ["FuzzFileSystem", "FuzzedChorusStorage", product("ChorusCore")]),
        fuzzer("FuzzSnapshotFile", ["FuzzFileSystem", "FuzzedChorusStorage", product("ChorusCore")]),
        fuzzer("FuzzJSON", [product("ChorusCore")]),
        fuzzer("FuzzMachines", ["FuzzedChorusMachines", product("ChorusKeyValue"), product("ChorusCore")]),
        fuzzer("FuzzCRDT", [product("ChorusCRDT"), product("ChorusClocks"), product("ChorusCore")]),
        fuzzer("FuzzText", [product("ChorusCRDT"), product("ChorusClocks"), product("ChorusCore")]),
        fuzzer("FuzzHistory", [product("ChorusCheck"), product("ChorusCore")]),
        fuzzer("FuzzTrace", ["FuzzedChorusTraces", product("ChorusCRDT")]),
        fuzzer("FuzzEventStore", [product("ChorusEventStore"), product("ChorusCore")]),
        fuzzer("FuzzReplication", [
            product("ChorusReplication"), product("ChorusCRDT"), product("ChorusClocks"), product("ChorusCore"),
        ]),
        fuzzer("FuzzSagas", [product("ChorusSagas"), product("ChorusCore")]),
        // Later decoders get their fuzzer here as they land (RESP, session tokens):
        // fuzzer("FuzzRESP", [...]), fuzzer("FuzzSessionToken", [...]).
    ]
)
