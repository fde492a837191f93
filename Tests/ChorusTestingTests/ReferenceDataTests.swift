import ChorusTesting
import Foundation
import Testing

@Suite struct ReferenceDataTests {
    @Test func packageRootHoldsThePackageManifest() {
        let manifest = ReferenceData.packageRoot.appendingPathComponent("Package.swift")
        #expect(FileManager.default.fileExists(atPath: manifest.path))
    }

    @Test func missingFoldersAreNil() {
        #expect(ReferenceData.directory("no-such-folder-\(UInt64.random(in: 0 ... .max))") == nil)
    }
}
