/// An event as the store recorded it: what reads and subscriptions return.
public struct RecordedEvent: Hashable, Sendable {
    public var stream: StreamName
    public var revision: StreamRevision
    public var position: GlobalPosition
    public var id: EventID
    public var type: String
    public var data: [UInt8]
    public var metadata: [UInt8]
    public var contentType: ContentType
    public var schemaVersion: UInt32
    /// The proposing leader's time, made non-decreasing along `$all`.
    public var recordedTime: RecordedTime

    public init(
        stream: StreamName, revision: StreamRevision, position: GlobalPosition, id: EventID, type: String, data: [UInt8],
        metadata: [UInt8], contentType: ContentType, schemaVersion: UInt32, recordedTime: RecordedTime
    ) {
        self.stream = stream
        self.revision = revision
        self.position = position
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
        self.contentType = contentType
        self.schemaVersion = schemaVersion
        self.recordedTime = recordedTime
    }
}
