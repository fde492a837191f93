/// The bad patterns of Bouajjani, Enea, Guerraoui and Hamza, "On Verifying
/// Causal Consistency" (POPL 2017), §5, Table 2: on a differentiated
/// read/write history (each value written at most once), a history is
/// causally consistent exactly when none of its model's patterns occurs.
///
/// The relations they are stated in, over the `:ok` operations:
/// - PO, program order: each session's operations in order;
/// - wr, write-read: a write and the reads that returned its value;
/// - CO = (PO ∪ wr)⁺, the causal order;
/// - CF, conflict: w1 CF w2 when w1 and w2 write the same key, w1 CO r, and r reads w2;
/// - HB_o, for each operation o: the smallest transitive relation holding CO
///   on o's causal past, and w1 HB_o w2 (same key) whenever w1 HB_o r2 for a
///   read r2 of w2 in o's session up to o.
public enum CausalPattern: String, CaseIterable, Hashable, Sendable {
    /// CO has a cycle: some operation causally precedes itself.
    case cyclicCO = "cyclic-co"
    /// A read returns the initial value although a write of its key causally precedes it.
    case writeCOInitRead = "write-co-init-read"
    /// A read returns a value no write wrote.
    case thinAirRead = "thin-air-read"
    /// A read returns w1's value although w1 CO w2 CO the read for another write w2 of its key.
    case writeCORead = "write-co-read"
    /// CF ∪ CO has a cycle: no single arbitration of conflicting writes exists.
    case cyclicCF = "cyclic-cf"
    /// A read returns the initial value although, in some session's view HB_o, a write of its key precedes it.
    case writeHBInitRead = "write-hb-init-read"
    /// Some HB_o has a cycle.
    case cyclicHB = "cyclic-hb"

    /// The name the paper uses.
    public var paperName: String {
        switch self {
        case .cyclicCO: return "CyclicCO"
        case .writeCOInitRead: return "WriteCOInitRead"
        case .thinAirRead: return "ThinAirRead"
        case .writeCORead: return "WriteCORead"
        case .cyclicCF: return "CyclicCF"
        case .writeHBInitRead: return "WriteHBInitRead"
        case .cyclicHB: return "CyclicHB"
        }
    }
}

/// The three variants of causal consistency the paper checks (§3, and
/// Lemmas 5–7 of §5 for their bad patterns).
public enum CausalModel: String, CaseIterable, Hashable, Sendable {
    /// CC, causal consistency (weak: a read may be justified by a different
    /// linearization of its causal past each time).
    case causalConsistency = "cc"
    /// CCv, causal convergence: one arbitration order of all writes, as
    /// replicas that converge by last-writer-wins give.
    case causalConvergence = "ccv"
    /// CM, causal memory (Ahamad et al.): each session sees one order of its causal past.
    case causalMemory = "cm"

    /// The patterns whose absence characterizes the model on differentiated histories.
    public var patterns: [CausalPattern] {
        let base: [CausalPattern] = [.cyclicCO, .writeCOInitRead, .thinAirRead, .writeCORead]
        switch self {
        case .causalConsistency: return base
        case .causalConvergence: return base + [.cyclicCF]
        case .causalMemory: return base + [.writeHBInitRead, .cyclicHB]
        }
    }

    /// `CC`, `CCv`, `CM`.
    public var paperName: String {
        switch self {
        case .causalConsistency: return "CC"
        case .causalConvergence: return "CCv"
        case .causalMemory: return "CM"
        }
    }
}
