import ChorusAPI
import ChorusEventStore

/// One delivery of a persistent group to a consumer: the event, how often it
/// was delivered before, and the id to acknowledge it by.
public struct GroupDelivery: Sendable, Hashable {
    public var id: DeliveryID
    public var event: RecordedEvent
    /// 0 on the first delivery; counts retries (nack retry, ack timeout, disconnect).
    public var retryCount: Int
}

/// The id a consumer acknowledges a delivery by: `source-<position>` for an
/// event of the group's source (its global position), `parked-<revision>` for
/// a replayed parked event (its revision in the parked stream). Any consumer
/// of the group may acknowledge any delivery; an id that is not in flight
/// (acknowledged already, timed out and redelivered elsewhere) is ignored.
public struct DeliveryID: Sendable, Hashable, CustomStringConvertible {
    public var key: PersistentSubscriptionDispatcher.DeliveryKey

    public init(_ key: PersistentSubscriptionDispatcher.DeliveryKey) { self.key = key }

    /// The id written as `text`, or an `invalid_parameter` problem.
    public static func parse(_ text: String) throws(APIProblem) -> DeliveryID {
        func number(after prefix: String) -> UInt64? {
            guard text.hasPrefix(prefix) else { return nil }
            let digits = text.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.utf8.count <= 19, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                return nil
            }
            return UInt64(digits)
        }
        if let position = number(after: "source-") { return DeliveryID(.source(GlobalPosition(position))) }
        if let revision = number(after: "parked-") { return DeliveryID(.parked(StreamRevision(revision))) }
        throw APIProblem(.invalidParameter, "a delivery id is source-<position> or parked-<revision>, not \(text)")
    }

    public var description: String {
        switch key {
        case .source(let position): "source-\(position.rawValue)"
        case .parked(let revision): "parked-\(revision.rawValue)"
        }
    }
}

/// What a group consumer receives.
public enum GroupConsumerMessage: Sendable, Hashable {
    case delivery(GroupDelivery)
    /// Nothing was delivered for a heartbeat interval; the consumer is still connected.
    case heartbeat
}

/// A connected consumer of a persistent group: its deliveries, until it
/// disconnects (stops iterating: its events in flight go to other consumers),
/// the group is deleted (`group_not_found`) or this node stops leading
/// (`not_leader`: reconnect to the leader).
public struct GroupConsumer: Sendable {
    public let key: PersistentGroupKey
    public let id: PersistentSubscriptionDispatcher.ConsumerID
    public let deliveries: AsyncThrowingStream<GroupConsumerMessage, any Error>
}
