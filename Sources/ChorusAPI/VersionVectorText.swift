import ChorusClocks

/// The text form of a version vector in the API's headers (the session
/// token's leaderless part, `X-Chorus-Context`): `.<replica>-<counter>` per
/// entry, both in lower-case hexadecimal of 1 to 16 digits.
///
/// The grammar is regular on purpose, so `openapi.yaml` describes exactly the
/// texts a node accepts (`pattern`), and a contract fuzzer's well-formed text
/// is one the node reads: every text of the grammar with at most
/// `maximumEntries` entries parses, in any order; a repeated replica keeps its
/// larger counter and a zero counter says nothing (a version vector's missing
/// entry is 0).
public enum VersionVectorText {
    /// The most entries one text may carry (the regular expression's bound).
    public static let maximumEntries = 64

    /// Appends `.<replica>-<counter>` for each entry, in replica order.
    public static func append(_ vector: VersionVector, to text: inout String) {
        for entry in vector.entries {
            text += "." + String(entry.replica.rawValue, radix: 16) + "-" + String(entry.counter, radix: 16)
        }
    }

    /// The vector of `entries` (each `<replica>-<counter>`), or nil if one is
    /// not of the grammar or there are more than `maximumEntries`.
    public static func parse<Entries: Collection>(_ entries: Entries) -> VersionVector? where Entries.Element == Substring {
        guard entries.count <= maximumEntries else { return nil }
        var pairs: [(ReplicaID, UInt64)] = []
        pairs.reserveCapacity(entries.count)
        for entry in entries {
            let parts = entry.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let replica = hexadecimal(parts[0]), let counter = hexadecimal(parts[1]) else { return nil }
            pairs.append((ReplicaID(replica), counter))
        }
        return VersionVector(pairs)
    }

    /// 1 to 16 lower-case hexadecimal digits (so always within UInt64).
    public static func hexadecimal(_ text: Substring) -> UInt64? {
        guard (1...16).contains(text.utf8.count),
            text.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) })
        else { return nil }
        return UInt64(text, radix: 16)
    }
}
