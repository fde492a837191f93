/// How every simulator stamps its trace lines. (The run fingerprint both
/// keep beside the trace is `ChorusCore.FNV1a` over every event handled.)
enum TraceLine {
    /// `12.000345 text`: a trace line stamped with virtual seconds.
    static func stamped(at now: UInt64, _ text: String) -> String {
        let micros = String(now % 1_000_000)
        let fraction = String(repeating: "0", count: max(0, 6 - micros.count)) + micros
        return "\(now / 1_000_000).\(fraction) \(text)"
    }
}
