import ChorusClient

/// Turns events stored under an older schema version of their type into the
/// current one when they are read (the stored bytes never change): an
/// upcaster takes version n to n+1, and chains run n → n+1 → … → current.
///
/// The current version of a type is the highest any registered upcaster
/// produces (1 for a type without upcasters). An event whose version has no
/// upcaster on the way, or that is newer than this code knows, is an error
/// naming the type and the versions: never a silent misread.
public struct Upcasters: Sendable {
    public typealias Step = @Sendable (ClientEvent) throws -> ClientEvent

    private var steps: [String: [UInt32: Step]] = [:]

    public init() {}

    /// Registers the step that turns `type` version `from` into `from + 1`.
    public mutating func register(_ type: String, from version: UInt32, _ step: @escaping Step) {
        precondition(version >= 1, "schema versions start at 1")
        precondition(steps[type]?[version] == nil, "two upcasters for \(type) version \(version)")
        steps[type, default: [:]][version] = step
    }

    /// The version `type`'s events are read at.
    public func currentVersion(of type: String) -> UInt32 {
        (steps[type]?.keys.max()).map { $0 + 1 } ?? 1
    }

    /// `event` at its type's current version.
    public func upcast(_ event: ClientEvent) throws(AggregateError) -> ClientEvent {
        let target = currentVersion(of: event.type)
        guard event.schemaVersion <= target else {
            throw .upcasting(
                "\(event.stream)@\(event.revision): \(event.type) version \(event.schemaVersion) is newer than this code knows (\(target))")
        }
        var current = event
        while current.schemaVersion < target {
            guard let step = steps[current.type]?[current.schemaVersion] else {
                throw .upcasting(
                    "\(event.stream)@\(event.revision): no upcaster for \(event.type) version \(current.schemaVersion) (current: \(target))")
            }
            let from = current.schemaVersion
            do {
                current = try step(current)
            } catch {
                throw .upcasting("\(event.stream)@\(event.revision): upcasting \(event.type) from version \(from) failed: \(error)")
            }
            current.schemaVersion = from + 1
        }
        return current
    }
}
