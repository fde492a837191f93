/// Placing the events: every acknowledgement, read and delivery claims
/// places; the claims must agree, appends must sit together, streams must
/// be gap-free and `$all` must rise with every stream.
extension EventStoreRun {
    /// Collects every claim, checks that they agree, and fixes each event's place.
    mutating func placeEvents() throws(HistoryError) {
        var subscribedStream: [String: String] = [:]
        // Every append's events first: a read may complete with an event whose
        // append was invoked after the read (they were concurrent).
        for operation in history.operations {
            if case .append(_, let ids, _) = operation.kind {
                appendCount += 1
                for id in ids { appendsOfEvent[id, default: []].append(operation.id) }
            }
        }
        for operation in history.operations {
            switch operation.kind {
            case .append(_, let ids, let result):
                if case .appended(let revisions, let positions) = result {
                    claimAcknowledged(operation, ids: ids, revisions: revisions, positions: positions)
                }
            case .read(_, _, _, _, let events):
                for event in events ?? [] {
                    let stream = event.stream ?? (operation.stream == allStreamName ? nil : operation.stream)
                    claim(event, stream: stream, source: operation.id, seenAt: operation.completedAt ?? operation.invokedAt, isRecord: false)
                }
            }
        }
        for record in history.records {
            switch record.event {
            case .subscribe(let stream, _, _):
                subscribedStream[record.subscriber] = stream
            case .deliver(let event):
                let subscribed = subscribedStream[record.subscriber]
                let stream = event.stream ?? (subscribed == allStreamName ? nil : subscribed)
                claim(event, stream: stream, source: record.id, seenAt: record.instant, isRecord: true)
            default: continue
            }
        }
        for id in claims.keys.sorted() { settle(id) }
        positions = eventAtPosition.keys.sorted()
        checkBatches()
    }

    private mutating func claimAcknowledged(_ operation: EventStoreOperation, ids: [String], revisions: [Int64], positions: [Int64]) {
        guard revisions.count == ids.count else {
            report(.streamRevisions, [operation.id], "\(describe(operation.id)) acknowledged \(ids.count) events with \(revisions.count) revisions")
            return
        }
        for index in ids.indices.dropFirst() {
            if revisions[index] != revisions[index - 1] + 1 {
                report(.streamRevisions, [operation.id], "\(describe(operation.id)) acknowledged revisions \(revisions), which are not consecutive")
                break
            }
        }
        for index in ids.indices.dropFirst() {
            let consecutive = positions[index] == positions[index - 1] + 1
            if positions[index] <= positions[index - 1] || (options.consecutivePositionsWithinAppend && !consecutive) {
                report(.allStream, [operation.id], "\(describe(operation.id)) acknowledged positions \(positions), which are not consecutive")
                break
            }
        }
        for (index, id) in ids.enumerated() {
            claims[id, default: []].append(Claim(
                stream: operation.stream, revision: revisions[index], position: positions[index], source: operation.id, fromAppend: true))
        }
    }

    /// A read or delivery claims a place; it must also have been appended, by
    /// an append that did not fail, to that stream, invoked before it was seen.
    private mutating func claim(_ event: ObservedEvent, stream: String?, source: Int, seenAt instant: Int, isRecord: Bool) {
        claims[event.id, default: []].append(Claim(
            stream: stream, revision: event.revision, position: event.position, source: source, fromAppend: false))
        let appends = appendsOfEvent[event.id] ?? []
        let effective = appends.filter { append in
            if case .append(_, _, let result) = history.operations[append].kind {
                switch result {
                case .refused, .wrongExpectedVersion: return false
                case .appended, .indeterminate: return true
                }
            }
            return false
        }
        let what = "\(describe(source)) shows event \(event.id)"
        guard !appends.isEmpty else {
            report(.noPhantomEvents, [source], "\(what), which no append carried")
            return
        }
        guard !effective.isEmpty else {
            report(.noPhantomEvents, [appends[0], source], "\(what), but its only appends were refused: \(describe(appends[0]))")
            return
        }
        if let stream, !effective.contains(where: { history.operations[$0].stream == stream }) {
            report(.noPhantomEvents, [effective[0], source], "\(what) in \(stream), but it was appended to \(history.operations[effective[0]].stream)")
            return
        }
        let earliest = effective.min { history.operations[$0].invokedAt < history.operations[$1].invokedAt }!
        let appendedAt = history.operations[earliest].invokedAt
        let before = isRecord ? instant <= appendedAt : instant < appendedAt
        if before {
            report(.noPhantomEvents, [source, earliest], "\(what) before \(describe(earliest)) was even invoked")
        }
    }

    /// Fixes an event's place from its claims: an acknowledgement's first,
    /// else the first full observation; every other claim must agree.
    private mutating func settle(_ id: String) {
        guard let all = claims[id] else { return }
        let full = all.filter { $0.stream != nil && $0.revision != nil }
        guard let chosen = full.first(where: \.fromAppend) ?? full.first else { return }
        let settled = EventPlace(stream: chosen.stream!, revision: chosen.revision!, position: chosen.position)
        for other in all where other.source != chosen.source {
            let agrees = (other.stream.map { $0 == settled.stream } ?? true)
                && (other.revision.map { $0 == settled.revision } ?? true) && other.position == settled.position
            if agrees { continue }
            let otherText = "\(other.stream ?? "?") revision \(other.revision.map(String.init) ?? "?"), position \(other.position)"
            let explanation = "event \(id) is at \(Self.text(settled)) by \(describe(chosen.source)), but at \(otherText) by \(describe(other.source))"
            if (appendsOfEvent[id]?.count ?? 0) > 1 {
                report(.idempotentRetries, [chosen.source, other.source], explanation + ": a retried append took effect twice")
            } else {
                report(.streamRevisions, [chosen.source, other.source], explanation)
            }
            break
        }
        if let holder = eventsOfStream[settled.stream]?[settled.revision], holder != id {
            report(.streamRevisions, [placeSource[holder]!, chosen.source],
                   "two events sit at \(settled.stream) revision \(settled.revision): \(holder) by \(describe(placeSource[holder]!)) and \(id) by \(describe(chosen.source))")
            return
        }
        if let holder = eventAtPosition[settled.position], holder != id {
            report(.allStream, [placeSource[holder]!, chosen.source],
                   "two events sit at position \(settled.position): \(holder) by \(describe(placeSource[holder]!)) and \(id) by \(describe(chosen.source))")
            return
        }
        place[id] = settled
        placeSource[id] = chosen.source
        eventsOfStream[settled.stream, default: [:]][settled.revision] = id
        eventAtPosition[settled.position] = id
    }

    /// An append's events sit together: all at consecutive revisions from
    /// its first (and positions, when asked), or none. An append that only
    /// partly shows is a torn, non-atomic append.
    private mutating func checkBatches() {
        var checked = Set<[String]>()
        for operation in history.operations {
            guard case .append(_, let ids, let result) = operation.kind else { continue }
            if case .refused = result { continue }
            if case .wrongExpectedVersion = result { continue }
            guard let anchor = ids.indices.first(where: { place[ids[$0]]?.stream == operation.stream }),
                let anchorPlace = place[ids[anchor]]
            else { continue }
            firstRevision[operation.id] = anchorPlace.revision - Int64(anchor)
            guard checked.insert(ids).inserted else { continue }
            for (index, id) in ids.enumerated() where index != anchor {
                let revision = anchorPlace.revision + Int64(index - anchor)
                if let placed = place[id] {
                    let positionOK = !options.consecutivePositionsWithinAppend
                        || placed.position == anchorPlace.position + Int64(index - anchor)
                    if placed.revision != revision || placed.stream != operation.stream || !positionOK {
                        report(.streamRevisions, [operation.id, placeSource[id]!],
                               "\(describe(operation.id)) put \(ids[anchor]) at \(Self.text(anchorPlace)) but \(id) at \(Self.text(placed)): not together")
                        break
                    }
                } else if let other = eventsOfStream[operation.stream]?[revision] {
                    report(.streamRevisions, [operation.id, placeSource[ids[anchor]]!, placeSource[other]!],
                           "only part of \(describe(operation.id)) took effect: \(ids[anchor]) is at \(Self.text(anchorPlace)), but \(other), not \(id), is at revision \(revision)")
                    break
                }
            }
        }
    }

    // MARK: - Streams and $all

    /// Gap-free revisions per stream, and positions that rise with revisions.
    mutating func checkStreams() {
        // Events no one saw, of appends with no answer: they may fill gaps.
        var unseen: [String: Int] = [:]
        var counted = Set<String>()
        for operation in history.operations {
            guard case .append(_, let ids, .indeterminate) = operation.kind else { continue }
            for id in ids where place[id] == nil && counted.insert(id).inserted { unseen[operation.stream, default: 0] += 1 }
        }
        for stream in eventsOfStream.keys.sorted() {
            let events = eventsOfStream[stream]!
            let revisions = events.keys.sorted()
            let missing = Int(revisions.last! + 1) - revisions.count
            if missing > unseen[stream] ?? 0 {
                var gap: Int64 = 0
                while events[gap] != nil { gap += 1 }
                let after = revisions.first { $0 > gap }!
                var ids: [Int] = []
                if let before = events[gap - 1] { ids.append(placeSource[before]!) }
                ids.append(placeSource[events[after]!]!)
                report(.streamRevisions, ids,
                       "\(stream) has no event at revision \(gap), yet one at revision \(after) (\(describe(placeSource[events[after]!]!))), "
                       + "and no unanswered append is left to fill the gap")
            }
            var previous: (revision: Int64, position: Int64, id: String)?
            for revision in revisions {
                let id = events[revision]!
                let position = place[id]!.position
                if let previous, position <= previous.position {
                    report(.allStream, [placeSource[previous.id]!, placeSource[id]!],
                           "in \(stream), revision \(revision) (\(id)) has position \(position), not after revision \(previous.revision)'s \(previous.position): $all disagrees with the stream")
                }
                previous = (revision, position, id)
            }
        }
    }
}
