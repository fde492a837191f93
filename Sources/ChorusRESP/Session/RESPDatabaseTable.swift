/// Which keyspace each `SELECT` index names. Database 0 always exists and
/// is the default leaderless keyspace (issue 14: `chorus cluster up` creates
/// it); other indexes are configured by the operator. An index that is not
/// in the table is answered `-ERR DB index is out of range`, as Redis answers
/// an index past `databases`.
public struct RESPDatabaseTable: Sendable, Hashable {
    /// At most this many databases (Redis's default is 16; a table is kept
    /// small so `INFO` and the start-up check stay cheap).
    public static let maximumDatabaseCount = 1_024

    /// (index, keyspace), sorted by index.
    public private(set) var entries: [(index: Int, keyspace: String)]

    public init(defaultKeyspace: String, others: [Int: String] = [:]) {
        var entries = [(index: 0, keyspace: defaultKeyspace)]
        for (index, keyspace) in others where index != 0 { entries.append((index, keyspace)) }
        entries.sort { $0.index < $1.index }
        self.entries = entries
    }

    /// The keyspace of database `index`, or nil if none is configured.
    public func keyspace(forDatabase index: Int) -> String? {
        entries.first(where: { $0.index == index })?.keyspace
    }

    /// The reasons this table cannot be served, empty when it can.
    public func violations() -> [String] {
        var problems: [String] = []
        if entries.count > Self.maximumDatabaseCount {
            problems.append("at most \(Self.maximumDatabaseCount) databases")
        }
        for entry in entries {
            if entry.index < 0 || entry.index > Int(Int32.max) {
                problems.append("database index \(entry.index) is not in 0...\(Int32.max)")
            }
            if entry.keyspace.isEmpty { problems.append("database \(entry.index) names no keyspace") }
        }
        return problems
    }

    public static func == (lhs: RESPDatabaseTable, rhs: RESPDatabaseTable) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.index == $1.index && $0.keyspace == $1.keyspace }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.index)
            hasher.combine(entry.keyspace)
        }
    }
}
