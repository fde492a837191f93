import ChorusCore

/// The replicated half of persistent subscription groups: definitions,
/// checkpoints, parked events and replay bounds. Everything here changes only
/// through committed commands, so a new leader's dispatcher starts from the
/// same state the old one left (see `PersistentSubscriptionDispatcher`).
///
/// A parked event is a reference in the group's parked stream
/// (`$persistentsubscription-<stream>::<group>-parked`): type `$parked`, data
/// `{"stream":…,"revision":…,"position":…,"eventId":…}` in JSON, metadata the
/// reason in UTF-8, and an id whose high half is the parked event's position.
extension EventStore {
    public static let parkedEventType = "$parked"

    func groupProblem(_ key: PersistentGroupKey) -> String? {
        if let problem = StreamName.problem(in: key.group, maximumBytes: limits.maximumGroupNameBytes) {
            return "group name: \(problem)"
        }
        if key.stream != .all, let problem = key.stream.validateAnyStream(limits: limits) { return "source stream: \(problem)" }
        if key.stream.hasBytePrefix("$persistentsubscription-") { return "a parked stream cannot be a group's source" }
        return nil
    }

    mutating func executeCreateGroup(
        _ key: PersistentGroupKey, filter: EventFilter?, settings: PersistentGroupSettings, start: PersistentGroupStart
    ) -> EventStoreResult {
        if let problem = groupProblem(key) { return .invalidGroup(key, reason: problem) }
        let source: SubscriptionSource
        if key.stream == .all {
            let filter = filter ?? .clientStreams
            if let problem = filter.problem(limits: limits) { return .invalidGroup(key, reason: problem) }
            source = .all(filter)
        } else {
            guard filter == nil else { return .invalidGroup(key, reason: "a filter applies to $all groups only") }
            source = .stream(key.stream)
        }
        if let problem = settings.problem(limits: limits) { return .invalidGroup(key, reason: problem) }
        if groups[key] != nil { return .groupAlreadyExists(key) }
        if groups.count >= limits.maximumPersistentGroups {
            return .invalidGroup(key, reason: "the store holds the most groups it may (\(limits.maximumPersistentGroups))")
        }
        let checkpoint: SubscriptionCursor
        switch start {
        case .start: checkpoint = .start
        case .end: checkpoint = nextPosition == 0 ? .start : .after(GlobalPosition(nextPosition - 1))
        case .after(let position):
            guard position.rawValue < nextPosition else {
                return .invalidGroup(key, reason: "start position \(position) is beyond the head \(headPosition)")
            }
            checkpoint = .after(position)
        }
        // A group created again after a delete does not replay what its
        // predecessor parked: its parked stream continues after those revisions.
        let parkedEnd = streamNumber(key.parkedStream).map { StreamRevision(streams[Int($0)].nextRevision) } ?? .zero
        let group = PersistentGroup(
            key: key, source: source, settings: settings, checkpoint: checkpoint, replayRequestedThrough: parkedEnd,
            replayedThrough: parkedEnd)
        groups[key] = group
        return .groupCreated(group)
    }

    mutating func executeDeleteGroup(_ key: PersistentGroupKey) -> EventStoreResult {
        guard groups.removeValue(forKey: key) != nil else { return .groupNotFound(key) }
        if let number = streamNumber(key.parkedStream), streams[Int(number)].isReadable {
            let index = Int(number)
            streams[index].status = .softDeleted
            streams[index].softDeletedBefore = streams[index].nextRevision
            streams[index].rulesChangedAt = nextPosition
            refreshReclaimable(number)
        }
        return .groupDeleted(key)
    }

    mutating func executeAdvanceCheckpoint(_ key: PersistentGroupKey, to checkpoint: SubscriptionCursor) -> EventStoreResult {
        guard let group = groups[key] else { return .groupNotFound(key) }
        if case .after(let position) = checkpoint, position.rawValue >= nextPosition {
            return .invalidGroup(key, reason: "checkpoint \(position) is beyond the head \(headPosition)")
        }
        if checkpoint > group.checkpoint { groups[key]!.checkpoint = checkpoint }
        return .checkpointAdvanced(key: key, checkpoint: groups[key]!.checkpoint)
    }

    mutating func executePark(_ key: PersistentGroupKey, position: GlobalPosition, reason: String) -> EventStoreResult {
        guard let group = groups[key] else { return .groupNotFound(key) }
        if reason.utf8.count > limits.maximumReasonBytes {
            return .invalidGroup(key, reason: "a park reason of \(reason.utf8.count) bytes exceeds \(limits.maximumReasonBytes)")
        }
        guard let slot = log.slot(ofPosition: position.rawValue) else { return .eventNotFound(position) }
        let record = log[slot]
        let eventStream = streams[Int(record.stream)].name
        let inSource: Bool
        switch group.source {
        case .stream(let name): inSource = eventStream == name
        case .all(let filter): inSource = filter.matches(stream: eventStream) && filter.matches(typeBytes: log.typeBytes(of: record))
        }
        guard inSource else { return .invalidGroup(key, reason: "the event at \(position) is not in the group's source") }
        let parked = key.parkedStream
        let isNew = streamNumber(parked) == nil
        var reference = "{\"stream\":"
        JSONString.write(eventStream.text, to: &reference)
        reference += ",\"revision\":\(record.revision),\"position\":\(record.position),\"eventId\":\"\(record.id)\"}"
        let data = Array(reference.utf8)
        let metadata = Array(reason.utf8)
        let bytes = Self.parkedEventType.utf8.count + data.count + metadata.count
        if let full = makeRoom(newStreams: isNew ? 1 : 0, events: 1, bytes: bytes) { return .storeFull(full) }
        let number = ensureStream(parked)
        let revision = streams[Int(number)].nextRevision
        let event = ProposedEvent(
            id: EventID(high: record.position, low: 0x706B_0000_0000_0000 | (revision & 0x0000_FFFF_FFFF_FFFF)),
            type: Self.parkedEventType, data: data, metadata: metadata, contentType: .json)
        appendSystemEvent(event, to: number)
        return .eventParked(ParkOutcome(key: key, position: position, parkedRevision: StreamRevision(revision)))
    }

    mutating func executeReplayParked(_ key: PersistentGroupKey) -> EventStoreResult {
        guard groups[key] != nil else { return .groupNotFound(key) }
        let end = streamNumber(key.parkedStream).map { StreamRevision(streams[Int($0)].nextRevision) } ?? .zero
        if end > groups[key]!.replayRequestedThrough { groups[key]!.replayRequestedThrough = end }
        return .replayRequested(key: key, through: groups[key]!.replayRequestedThrough)
    }

    mutating func executeAdvanceReplay(_ key: PersistentGroupKey, through: StreamRevision) -> EventStoreResult {
        guard let group = groups[key] else { return .groupNotFound(key) }
        guard through <= group.replayRequestedThrough else {
            return .invalidGroup(key, reason: "replay through \(through) beyond the requested \(group.replayRequestedThrough)")
        }
        if through > group.replayedThrough {
            groups[key]!.replayedThrough = through
            if let number = streamNumber(key.parkedStream) {
                let index = Int(number)
                streams[index].metadata.truncateBefore = through
                streams[index].rulesChangedAt = nextPosition
                refreshReclaimable(number)
            }
        }
        return .replayAdvanced(key: key, through: groups[key]!.replayedThrough)
    }
}
