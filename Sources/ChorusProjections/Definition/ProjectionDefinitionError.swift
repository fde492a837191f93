/// Why a projection definition is refused, with where the problem is: the
/// projection, and the handler, statement or query inside it. Every message
/// is a sentence an operator can act on without reading the source.
public struct ProjectionDefinitionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The projection (nil: the file as a whole).
    public var projection: String?
    /// Where inside it: `handler 'OrderPlaced' statement 1`, `query 'by_id'`, `schema statement 2`.
    public var location: String?
    public var message: String

    public init(projection: String? = nil, location: String? = nil, _ message: String) {
        self.projection = projection
        self.location = location
        self.message = message
    }

    public var description: String {
        var prefix = ""
        if let projection { prefix += "projection '\(projection)'" }
        if let location { prefix += prefix.isEmpty ? location : ", \(location)" }
        return prefix.isEmpty ? message : "\(prefix): \(message)"
    }

    func at(projection: String) -> ProjectionDefinitionError {
        var copy = self
        copy.projection = copy.projection ?? projection
        return copy
    }

    func at(location: String) -> ProjectionDefinitionError {
        var copy = self
        copy.location = copy.location.map { "\(location) \($0)" } ?? location
        return copy
    }
}
