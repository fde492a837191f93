import FuzzDriver

#if canImport(Glibc)
import Glibc
#endif

/// One seed input for a target's corpus.
public struct Seed {
    public var name: String
    public var bytes: [UInt8]

    public init(_ name: String, _ bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}

/// The entry point every fuzz target's `main` calls.
///
/// `--write-seeds DIR` writes the target's generated seeds (valid encodings
/// made by the real encoders) into DIR and exits; `--run FILE...` feeds each
/// file to the harness once, outside libFuzzer's loop, and exits 0 if none
/// trapped (what `Scripts/fuzz.sh` and the regression tests' authors use to
/// replay a crash); anything else goes to libFuzzer's driver, so every
/// libFuzzer flag works (`-max_total_time=60 Corpus/X`).
public enum FuzzMain {
    public static func run(
        seeds: () -> [Seed],
        testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Never {
        let arguments = CommandLine.arguments
        if arguments.count == 3 && arguments[1] == "--write-seeds" {
            let directory = arguments[2]
            for seed in seeds() { write(seed.bytes, to: directory + "/" + seed.name) }
            exit(0)
        }
        ChorusFuzzRunDriver(CommandLine.argc, CommandLine.unsafeArgv, testOneInput)
        fatalError("unreachable: the libFuzzer driver exits")
    }

    static func write(_ bytes: [UInt8], to path: String) {
        guard let file = fopen(path, "wb") else { fatalError("cannot create \(path)") }
        let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        guard written == bytes.count else { fatalError("short write to \(path)") }
    }

    /// The bytes libFuzzer passes, as an array.
    public static func bytes(_ start: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
        guard let start, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: count))
    }
}
