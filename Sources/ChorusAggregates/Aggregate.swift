import ChorusClient

/// An event-sourced aggregate: a state folded from its stream's events, and
/// the decisions that turn a command into new events. Pure: the repository
/// (`AggregateRepository`) does the reading, appending and retrying.
public protocol Aggregate: Sendable {
    associatedtype Event: Sendable
    associatedtype Command: Sendable

    /// The state before any event.
    init()
    /// The state after `event`.
    mutating func apply(_ event: Event)
    /// The events `command` produces from this state, or `AggregateError.rejected`.
    func decide(_ command: Command) throws(AggregateError) -> [Event]

    /// An event as read (already at its type's current schema version).
    static func decode(_ event: ClientEvent) throws(AggregateError) -> Event
    /// An event to append.
    static func encode(_ event: Event) -> EventToAppend

    /// The state as snapshot bytes, and back (`AggregateSnapshots`).
    func snapshot() -> [UInt8]
    init(snapshot: [UInt8]) throws(AggregateError)
}
