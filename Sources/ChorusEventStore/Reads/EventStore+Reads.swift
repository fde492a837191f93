/// Reads, served from the indexes: a stream read from a revision is an O(1)
/// lookup in the stream's slots, an `$all` read from a position a binary
/// search in the event log; neither scans the store. Stream reads honour
/// deletes and retention rules; `$all` shows every retained event.
extension EventStore {
    public func read(_ query: EventStoreQuery) -> EventStoreQueryResult {
        switch query {
        case .readStream(let request): .stream(readStream(request))
        case .readAll(let request): .all(readAll(request))
        case .streamInfo(let stream): .streamInfo(streamInfo(stream))
        case .subscriptionBatch(let source, let after, let maximumCount):
            .subscriptionBatch(subscriptionBatch(source: source, after: after, maximumCount: maximumCount))
        case .group(let key): .group(groups[key])
        case .groups: .groups(groups.keys.sorted().map { groups[$0]! })
        case .readParked(let key, let from, let maximumCount): .parked(readParked(key, from: from, maximumCount: maximumCount))
        }
    }

    func clampedCount(_ requested: Int) -> Int { Swift.min(Swift.max(requested, 0), limits.maximumReadCount) }

    // MARK: One stream

    public func readStream(_ request: StreamReadRequest) -> StreamReadResult {
        guard let number = streamNumber(request.stream) else { return .streamNotFound(request.stream) }
        let stream = streams[Int(number)]
        if stream.status == .tombstoned { return .streamDeleted(request.stream) }
        let range: Range<UInt64>
        if let asOf = request.asOf, nextPosition > 0, asOf.rawValue < nextPosition - 1 {
            switch asOfRange(of: stream, asOf: asOf.rawValue) {
            case .notFound: return .streamNotFound(request.stream)
            case .notRetained(let reason): return .asOfNotRetained(request.stream, reason: reason)
            case .range(let visible): range = visible
            }
        } else {
            guard stream.isReadable else { return .streamNotFound(request.stream) }
            range = visibleStart(of: stream)..<stream.nextRevision
        }
        return .events(page(of: stream, visible: range, request: request))
    }

    enum AsOfRange {
        case notFound
        case notRetained(String)
        case range(Range<UInt64>)
    }

    /// The revisions of `stream` visible right after the command that assigned `asOf`.
    func asOfRange(of stream: StreamRecord, asOf: UInt64) -> AsOfRange {
        // The revisions assigned by then: known exactly when an event at or
        // before `asOf` is retained, or when nothing was ever scavenged.
        let revisionsThen: UInt64
        if let firstSlot = stream.entries.first, log[Int(firstSlot)].position <= asOf {
            var low = 0
            var high = stream.entries.count
            while low < high {
                let middle = (low + high) / 2
                if log[Int(stream.entries[middle])].position <= asOf { low = middle + 1 } else { high = middle }
            }
            revisionsThen = stream.retainedStart + UInt64(low)
        } else if stream.retainedStart == 0 {
            revisionsThen = 0
        } else {
            return .notRetained("the stream's events up to position \(asOf) were scavenged")
        }
        if revisionsThen == 0 { return .notFound }
        if stream.rulesChangedAt > asOf {
            return .notRetained(
                "the stream's deletes or retention rules changed at position \(stream.rulesChangedAt), after \(asOf)")
        }
        if stream.metadata.maximumAge != nil { return .notRetained("as-of reads of a stream with maximumAge are not supported") }
        if stream.status != .active { return .notFound }
        let cut = stream.countCut(nextRevision: revisionsThen)
        if cut < stream.retainedStart { return .notRetained("events visible at position \(asOf) were scavenged") }
        return .range(Swift.min(cut, revisionsThen)..<revisionsThen)
    }

    func page(of stream: StreamRecord, visible: Range<UInt64>, request: StreamReadRequest) -> StreamReadPage {
        let limit = UInt64(clampedCount(request.maximumCount))
        var events: [RecordedEvent] = []
        var next: UInt64?
        switch request.direction {
        case .forwards:
            let first: UInt64
            switch request.from {
            case .start: first = visible.lowerBound
            case .end: first = visible.upperBound
            case .revision(let revision): first = Swift.max(revision.rawValue, visible.lowerBound)
            }
            if first < visible.upperBound {
                let stop = first + Swift.min(limit, visible.upperBound - first)
                events.reserveCapacity(Int(stop - first))
                for revision in first..<stop { events.append(recordedEvent(at: stream.slot(ofRevision: revision)!)) }
                next = stop < visible.upperBound ? stop : nil
            }
        case .backwards:
            guard !visible.isEmpty else { break }
            let top: UInt64
            switch request.from {
            case .start: top = visible.lowerBound
            case .end: top = visible.upperBound - 1
            case .revision(let revision): top = Swift.min(revision.rawValue, visible.upperBound - 1)
            }
            guard top >= visible.lowerBound else { break }
            let count = Swift.min(limit, top - visible.lowerBound + 1)
            events.reserveCapacity(Int(count))
            var revision = top
            for _ in 0..<count {
                events.append(recordedEvent(at: stream.slot(ofRevision: revision)!))
                if revision > 0 { revision -= 1 }
            }
            let lowest = top + 1 - count
            next = lowest > visible.lowerBound ? lowest - 1 : nil
        }
        return StreamReadPage(
            stream: stream.name, events: events, nextRevision: next.map { StreamRevision($0) },
            lastRevision: StreamRevision(visible.upperBound == 0 ? 0 : visible.upperBound - 1),
            firstVisibleRevision: StreamRevision(visible.lowerBound))
    }

    public func streamInfo(_ name: StreamName) -> StreamInfo? {
        guard let number = streamNumber(name) else { return nil }
        let stream = streams[Int(number)]
        return StreamInfo(
            stream: name, state: stream.actualState, metadata: stream.metadata,
            firstVisibleRevision: StreamRevision(visibleStart(of: stream)),
            firstRetainedRevision: StreamRevision(stream.retainedStart), nextRevision: StreamRevision(stream.nextRevision))
    }

    // MARK: $all

    public func readAll(_ request: AllReadRequest) -> AllReadResult {
        if let problem = request.filter.problem(limits: limits) { return .invalidFilter(problem) }
        let limit = clampedCount(request.maximumCount)
        var matcher = FilterMatcher(filter: request.filter)
        var events: [RecordedEvent] = []
        var scanned = 0
        var scannedThrough: GlobalPosition?
        var next: GlobalPosition?
        switch request.direction {
        case .forwards:
            var slot: Int
            switch request.from {
            case .start: slot = 0
            case .end: slot = log.count
            case .position(let position): slot = log.firstSlot(atOrAfter: position.rawValue)
            }
            while slot < log.count && events.count < limit && scanned < limits.maximumScannedEventsPerRead {
                if matcher.matches(log[slot], in: self) { events.append(recordedEvent(at: slot)) }
                scannedThrough = GlobalPosition(log[slot].position)
                scanned += 1
                slot += 1
            }
            next = slot < log.count ? GlobalPosition(log[slot].position) : nil
        case .backwards:
            var slot: Int
            switch request.from {
            case .start: slot = log.firstSlot(atOrAfter: 1)
            case .end: slot = log.count
            case .position(let position):
                slot = position.rawValue == .max ? log.count : log.firstSlot(atOrAfter: position.rawValue + 1)
            }
            while slot > 0 && events.count < limit && scanned < limits.maximumScannedEventsPerRead {
                slot -= 1
                if matcher.matches(log[slot], in: self) { events.append(recordedEvent(at: slot)) }
                scannedThrough = GlobalPosition(log[slot].position)
                scanned += 1
            }
            next = slot > 0 ? GlobalPosition(log[slot - 1].position) : nil
        }
        return .events(AllReadPage(events: events, nextPosition: next, scannedThrough: scannedThrough, headPosition: headPosition))
    }

    /// A filter with a memo of its verdict per stream, for one read.
    struct FilterMatcher {
        let filter: EventFilter
        let matchesEverything: Bool
        var streamVerdicts: [UInt32: Bool] = [:]

        init(filter: EventFilter) {
            self.filter = filter
            matchesEverything = filter.streamNamePrefixes.isEmpty && filter.eventTypePrefixes.isEmpty && filter.includeSystemStreams
        }

        mutating func matches(_ record: EventRecord, in store: EventStore) -> Bool {
            if matchesEverything { return true }
            let streamMatches: Bool
            if let verdict = streamVerdicts[record.stream] {
                streamMatches = verdict
            } else {
                streamMatches = filter.matches(stream: store.streams[Int(record.stream)].name)
                streamVerdicts[record.stream] = streamMatches
            }
            return streamMatches && filter.matches(typeBytes: store.log.typeBytes(of: record))
        }
    }

    // MARK: Parked events

    public func readParked(_ key: PersistentGroupKey, from: StreamRevision, maximumCount: Int) -> ParkedReadResult {
        guard groups[key] != nil else { return .groupNotFound(key) }
        let page: StreamReadPage
        switch readStream(StreamReadRequest(stream: key.parkedStream, from: .revision(from), maximumCount: maximumCount)) {
        case .events(let events): page = events
        default: return .entries(ParkedPage(entries: [], nextRevision: nil))
        }
        let entries = page.events.map { reference in
            let position = GlobalPosition(reference.id.high)
            return ParkedEntry(
                parkedRevision: reference.revision, position: position, reason: String(decoding: reference.metadata, as: UTF8.self),
                event: log.slot(ofPosition: position.rawValue).map { recordedEvent(at: $0) })
        }
        return .entries(ParkedPage(entries: entries, nextRevision: page.nextRevision))
    }
}

extension EventStore {
    /// The position of the last retained event recorded at or before `time`, or
    /// nil if there is none: recorded times never decrease along `$all`, so this
    /// is a binary search, and it turns an "as of time" question into an "as
    /// of position" one.
    public func lastPosition(recordedAtOrBefore time: RecordedTime) -> GlobalPosition? {
        var low = 0
        var high = log.count
        while low < high {
            let middle = (low + high) / 2
            if log[middle].recordedTime <= time.rawValue { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : GlobalPosition(log[low - 1].position)
    }
}
