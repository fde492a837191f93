/// An editing trace from the `josephg/editing-traces` collection, held as
/// compact arrays rather than a JSON object graph: the automerge-paper trace
/// is 16 MB of JSON but 4 MB of patches here.
///
/// Two formats exist (see `../shared/data/README.md`):
/// - sequential: `{startContent, endContent, txns: [{time, patches}]}`;
/// - concurrent: `{kind: "concurrent", endContent, numAgents, txns:
///   [{parents, agent, numChildren, time, patches}]}`, where a transaction
///   applies to the state after its parents are merged.
///
/// A patch `[position, deleteCount, insertText]` deletes `deleteCount`
/// scalars at `position`, then inserts the text there; positions are Unicode
/// scalar offsets, and patches in a transaction apply in order.
public struct EditingTrace: Sendable {
    public enum Kind: Sendable, Equatable {
        case sequential
        case concurrent
    }

    public struct Patch: Sendable, Equatable {
        public var position: UInt32
        public var deleteCount: UInt32
        /// Where the inserted text starts in `insertedScalars`.
        public var insertStart: UInt32
        public var insertCount: UInt32

        public init(position: UInt32, deleteCount: UInt32, insertStart: UInt32, insertCount: UInt32) {
            self.position = position
            self.deleteCount = deleteCount
            self.insertStart = insertStart
            self.insertCount = insertCount
        }
    }

    public struct Transaction: Sendable, Equatable {
        /// The transaction's patches are `patches[patchStart ..< patchEnd]`.
        public var patchStart: UInt32
        public var patchEnd: UInt32
        /// Its parents are `parents[parentStart ..< parentEnd]` (concurrent traces).
        public var parentStart: UInt32
        public var parentEnd: UInt32
        /// The agent that made it (concurrent traces; 0 otherwise).
        public var agent: UInt32

        public init(patchStart: UInt32, patchEnd: UInt32, parentStart: UInt32, parentEnd: UInt32, agent: UInt32) {
            self.patchStart = patchStart
            self.patchEnd = patchEnd
            self.parentStart = parentStart
            self.parentEnd = parentEnd
            self.agent = agent
        }
    }

    public var kind: Kind
    public var startContent: [Unicode.Scalar]
    public var endContent: [Unicode.Scalar]
    /// The number of agents (concurrent traces; 1 for sequential ones).
    public var agentCount: Int
    public var patches: [Patch]
    public var transactions: [Transaction]
    /// Parent transaction indices of all transactions, back to back.
    public var parents: [UInt32]
    /// The inserted text of all patches, back to back, as scalar values.
    public var insertedScalars: [UInt32]

    public init(
        kind: Kind, startContent: [Unicode.Scalar], endContent: [Unicode.Scalar], agentCount: Int, patches: [Patch],
        transactions: [Transaction], parents: [UInt32], insertedScalars: [UInt32]
    ) {
        self.kind = kind
        self.startContent = startContent
        self.endContent = endContent
        self.agentCount = agentCount
        self.patches = patches
        self.transactions = transactions
        self.parents = parents
        self.insertedScalars = insertedScalars
    }

    /// The parents of transaction `index`.
    public func parents(of index: Int) -> ArraySlice<UInt32> {
        let transaction = transactions[index]
        return parents[Int(transaction.parentStart)..<Int(transaction.parentEnd)]
    }
}

/// The bounds the trace loader enforces, so a hostile file cannot make it
/// allocate without limit.
public enum TraceLimits {
    public static let maximumPatchCount = 1 << 26
    public static let maximumTransactionCount = 1 << 26
    public static let maximumScalarCount = 1 << 28
    /// Agents of a concurrent trace: each gets a replica in memory.
    public static let maximumAgentCount = 1 << 10
    /// Agents × transactions a concurrent replay tracks (one flag each).
    public static let maximumReplayFlagCount = 1 << 28
    public static let maximumNestingDepth = 64
}

/// Why a trace could not be loaded or replayed.
public enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String)
    /// zlib reported corrupt or truncated gzip data.
    case decompression(message: String)
    /// The JSON is malformed at this byte offset of the decompressed input.
    case syntax(offset: Int, message: String)
    /// A required field is absent.
    case missingField(String)
    /// A field has the wrong type or an impossible value.
    case invalidValue(String)
    case limitExceeded(String)
    /// A patch does not fit the document it applies to.
    case patchOutOfBounds(transaction: Int, patch: Int, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path): "cannot open \(path)"
        case .decompression(let message): "corrupt gzip data: \(message)"
        case .syntax(let offset, let message): "malformed JSON at byte \(offset): \(message)"
        case .missingField(let name): "missing field \"\(name)\""
        case .invalidValue(let message): "invalid trace: \(message)"
        case .limitExceeded(let message): "trace too large: \(message)"
        case .patchOutOfBounds(let transaction, let patch, let reason):
            "patch \(patch) of transaction \(transaction) does not apply: \(reason)"
        }
    }
}
