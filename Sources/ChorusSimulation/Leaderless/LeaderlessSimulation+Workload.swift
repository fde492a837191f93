import ChorusClocks
import ChorusCore
import ChorusReplication

/// What a client does next: a mix over both keyspaces (`causalShare` of the
/// operations go to the causal one), with every written value unique.
///
/// | eventual keyspace                          | causal keyspace                     |
/// |--------------------------------------------|-------------------------------------|
/// | put with the context read, blind put,      | put with the context read, blind    |
/// | delete, `eventual` read (shared keys)      | put, `causal` read (shared keys)    |
/// | chain write, `session` read (chain keys)   | chain write, `causal` read (chains) |
/// | counter, OR-set, map and register ops;     | counter increments and reads        |
/// | puts to fresh keys                         |                                     |
extension LeaderlessSimulation {
    func chooseOperation(client: Int) -> (ObjectKey, LeaderlessOperation.Action, LeaderlessLevel) {
        if let probe = clients[client].probeFollowUp {
            clients[client].probeFollowUp = nil
            return (probe, .read, probe.keyspace == LeaderlessKeys.causal ? .causal : .session)
        }
        if let keyspace = clients[client].pairedChainWrite {
            clients[client].pairedChainWrite = nil
            return chainWrite(client: client, keyspace: keyspace, level: keyspace == LeaderlessKeys.causal ? .causal : .session)
        }
        if random.chance(parameters.causalShare) { return chooseCausalOperation(client: client) }
        let roll = random.next() % 100
        let shared = LeaderlessKeys.shared(LeaderlessKeys.eventual, Int(random.next() % UInt64(parameters.sharedKeyCount)))
        let context = clients[client].contexts[shared] ?? VersionVector()
        switch roll {
        case 0..<16: return (shared, .put(value: uniqueValue(client), context: context), .eventual)
        case 16..<21: return (shared, .put(value: uniqueValue(client), context: nil), .eventual)
        case 21..<25: return (shared, .delete(context: context), .eventual)
        case 25..<33: return (shared, .read, .eventual)
        case 33..<41: return chainWrite(client: client, keyspace: LeaderlessKeys.eventual, level: .session)
        case 41..<51: return (chainToRead(client: client, keyspace: LeaderlessKeys.eventual), .read, .session)
        case 51..<56: return (LeaderlessKeys.hits, .increment(Int64(1 + random.next() % 5)), .eventual)
        case 56..<58: return (LeaderlessKeys.hits, .read, .eventual)
        case 58..<64: return (LeaderlessKeys.tags, .insert(uniqueValue(client)), .eventual)
        case 64..<68:
            let seen = clients[client].seenElements
            if seen.isEmpty { return (LeaderlessKeys.tags, .insert(uniqueValue(client)), .eventual) }
            return (LeaderlessKeys.tags, .remove(seen[Int(random.next() % UInt64(seen.count))]), .eventual)
        case 68..<71: return (LeaderlessKeys.tags, .read, .eventual)
        case 71..<80: return (LeaderlessKeys.profile, .map(mapAction(client: client)), .eventual)
        case 80..<82: return (LeaderlessKeys.profile, .read, .eventual)
        case 82..<88: return (LeaderlessKeys.title, .assign(uniqueValue(client)), .eventual)
        case 88..<91: return (LeaderlessKeys.title, .read, .eventual)
        case 91..<97:
            let key = LeaderlessKeys.fresh(client: client, number: clients[client].writesIssued)
            return (key, .put(value: uniqueValue(client), context: VersionVector()), .eventual)
        default: return (shared, .read, .eventual)
        }
    }

    func chooseCausalOperation(client: Int) -> (ObjectKey, LeaderlessOperation.Action, LeaderlessLevel) {
        let roll = random.next() % 100
        let shared = LeaderlessKeys.shared(LeaderlessKeys.causal, Int(random.next() % UInt64(parameters.sharedKeyCount)))
        switch roll {
        case 0..<20:
            return (shared, .put(value: uniqueValue(client), context: clients[client].contexts[shared] ?? VersionVector()), .causal)
        case 20..<26: return (shared, .put(value: uniqueValue(client), context: nil), .causal)
        case 26..<44: return (shared, .read, .causal)
        case 44..<62:
            // A cause and its effect: the other chain is written right after.
            clients[client].pairedChainWrite = LeaderlessKeys.causal
            return chainWrite(client: client, keyspace: LeaderlessKeys.causal, level: .causal)
        case 62..<94: return (chainToRead(client: client, keyspace: LeaderlessKeys.causal), .read, .causal)
        case 94..<97: return (LeaderlessKeys.likes, .increment(Int64(1 + random.next() % 5)), .causal)
        default: return (LeaderlessKeys.likes, .read, .causal)
        }
    }

    func uniqueValue(_ client: Int) -> [UInt8] { Array(clients[client].nextValue().utf8) }

    /// The next write of one of the client's chains, with the context of its
    /// previous write (which covers every earlier one).
    func chainWrite(client: Int, keyspace: KeyspaceID, level: LeaderlessLevel) -> (ObjectKey, LeaderlessOperation.Action, LeaderlessLevel) {
        // The slots alternate, so a writer's consecutive chain writes are to different keys.
        let slot = clients[client].nextChainSlot(keyspace)
        let key = LeaderlessKeys.chain(keyspace, client: client, slot: slot, generation: clients[client].chainGeneration(keyspace, slot: slot))
        var context = clients[client].contexts[key] ?? VersionVector()
        context.merge(clients[client].sessionContexts[key] ?? VersionVector())
        return (key, .put(value: uniqueValue(client), context: context), level)
    }

    /// A chain key to read: the client's own, or mostly one written lately by
    /// anyone (so that sessions read each other's fresh writes, in every
    /// order, while they still travel: where causal and session bugs show).
    /// Sometimes a probe: the latest written key now, and the key its writer
    /// wrote before it next (COPS's photo-and-ACL pattern: a session that saw
    /// the effect must then see its cause).
    func chainToRead(client: Int, keyspace: KeyspaceID) -> ObjectKey {
        let written = chainKeysWritten[keyspace] ?? []
        if let latest = written.last, random.chance(0.6),
            let previous = written.dropLast().last(where: { LeaderlessKeys.chainWriter(of: $0) == LeaderlessKeys.chainWriter(of: latest) })
        {
            clients[client].probeFollowUp = previous
            return latest
        }
        if written.isEmpty || random.chance(0.2) {
            let slot = Int(random.next() % UInt64(LeaderlessKeys.chainSlots))
            return LeaderlessKeys.chain(keyspace, client: client, slot: slot, generation: clients[client].chainGeneration(keyspace, slot: slot))
        }
        let recent = random.chance(0.7) ? Array(written.suffix(Self.recentChainKeys)) : written
        return recent[Int(random.next() % UInt64(recent.count))]
    }

    /// How many of the latest written chain keys count as recent.
    static let recentChainKeys = 4

    func mapAction(client: Int) -> LeaderlessMapAction {
        switch random.next() % 10 {
        case 0, 1, 2: .increment(Int64(1 + random.next() % 5))
        case 3, 4: .insertLabel(clients[client].nextValue())
        case 5, 6: .assignName(clients[client].nextValue())
        case 7: .enable
        case 8: .disable
        default: .removeName
        }
    }
}
