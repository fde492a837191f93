/// Bounds every decoder in this module checks before it allocates.
public enum ReplicationLimits {
    /// One opaque value or register value.
    public static let maximumValueBytes = 16 << 20
    /// Siblings a decoded sibling set may hold. Writes are refused far below
    /// this (`ReplicationConfiguration.siblingLimit`); merges of concurrent
    /// writes from several coordinators may pass the write limit, never this.
    public static let maximumDecodedSiblingCount = 4096
    /// Entries in one message's list (keys, hashes, targets, updates).
    public static let maximumMessageEntryCount = 1 << 16
    /// Members a version vector, frontier or session may name.
    public static let maximumReplicaCount = 1024
}
