import ChorusCore

/// The accepted peer connections of one node (confined to its loop): one
/// slot per peer for the connection whose handshake was accepted, and a
/// bounded pool for strangers that have not sent theirs yet.
///
/// - A peer's newer connection **replaces** its older one: after a silent
///   partition the old one may still look open here while the peer has long
///   dialled again, and a peer never needs two.
/// - When the strangers' pool is full, a newcomer **evicts the oldest
///   stranger** instead of being refused: a flood of connections that never
///   handshake cannot keep a real peer out; each of them lasts only until
///   enough newer ones arrive (or until its handshake timeout).
///
/// Identity is the connection object's (`===`). The caller closes what the
/// mutating calls return, and calls `remove` when a connection closes.
struct InboundPeerSlots<Connection: AnyObject> {
    /// Connections before their handshake, oldest first.
    private(set) var strangers: [Connection] = []
    private(set) var introduced: [NodeID: Connection] = [:]
    let strangersMaximum: Int

    init(strangersMaximum: Int) {
        precondition(strangersMaximum >= 1, "the strangers' pool holds at least one connection")
        self.strangersMaximum = strangersMaximum
    }

    var count: Int { strangers.count + introduced.count }

    /// Admits a newly accepted connection as a stranger; returns the oldest
    /// stranger it evicts when the pool was full.
    mutating func admit(_ connection: Connection) -> Connection? {
        var evicted: Connection?
        if strangers.count >= strangersMaximum { evicted = strangers.removeFirst() }
        strangers.append(connection)
        return evicted
    }

    /// Gives `connection` (a stranger whose handshake was accepted) the slot
    /// of `peer`; returns the peer's older connection it replaces.
    mutating func introduce(_ connection: Connection, as peer: NodeID) -> Connection? {
        strangers.removeAll { $0 === connection }
        let replaced = introduced[peer]
        introduced[peer] = connection
        return replaced === connection ? nil : replaced
    }

    /// Forgets a connection that closed (a no-op for one already replaced or evicted).
    mutating func remove(_ connection: Connection) {
        strangers.removeAll { $0 === connection }
        if let peer = introduced.first(where: { $0.value === connection })?.key { introduced[peer] = nil }
    }
}
