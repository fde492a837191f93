import ChorusCore
import ChorusEventStore

/// The saga definitions and participants a cluster knows: the fold of one
/// stream, `saga-registry`, so every node holds the same registry after
/// applying the same log, and a registration survives every crash.
///
/// - A definition is registered under its name and version. Registering the
///   same definition again changes nothing; registering a *different* one under
///   a name and version that exist is refused (`conflict`): a running saga
///   carries its whole definition in `SagaStarted`, so a version, once
///   registered, means one thing forever. A start names a definition by name
///   (the latest version) or by name and version.
/// - A participant is a name a step's `action.participant` uses and the base
///   URL the runtime sends its requests to (`http://host:port`, no path); a
///   registration replaces the URL (requests already recorded keep their
///   path and body, and are sent to the new URL).
public struct SagaRegistry: Sendable, Hashable {
    /// The stream the registry is the fold of; under the reserved `saga-` prefix.
    public static let stream = "saga-registry"
    public static let definitionRegistered = "SagaDefinitionRegistered"
    public static let participantRegistered = "SagaParticipantRegistered"
    /// Registered participants, at most.
    public static let maximumParticipants = 1_024
    /// Definitions (all versions), at most.
    public static let maximumDefinitions = 4_096
    /// A participant URL.
    public static let maximumURLBytes = 2_048

    /// name → version → definition.
    public private(set) var definitions: [String: [Int: SagaDefinition]] = [:]
    public private(set) var participants: [String: String] = [:]
    /// Events folded; the stream's next revision.
    public private(set) var eventCount = 0

    public init() {}

    public var definitionCount: Int { definitions.values.reduce(0) { $0 + $1.count } }

    /// The definition a start names: `version`, or the latest.
    public func definition(named name: String, version: Int? = nil) -> SagaDefinition? {
        guard let versions = definitions[name] else { return nil }
        if let version { return versions[version] }
        return versions.max { $0.key < $1.key }?.value
    }

    /// Every definition, by name then version.
    public var allDefinitions: [SagaDefinition] {
        definitions.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.flatMap { name in
            definitions[name]!.keys.sorted().map { definitions[name]![$0]! }
        }
    }

    public enum Registration: Sendable, Hashable {
        /// Append this event to `saga-registry`.
        case append(type: String, data: [UInt8])
        /// Already registered exactly so: nothing to append.
        case unchanged
    }

    public enum RegistrationError: Error, Sendable, Hashable, CustomStringConvertible {
        case invalidDefinition(SagaDefinitionError)
        case conflict(name: String, version: Int)
        case invalidParticipant(String)
        case full(String)

        public var description: String {
            switch self {
            case .invalidDefinition(let error): "invalid definition: \(error)"
            case .conflict(let name, let version):
                "definition \(name) version \(version) is registered with different content; register it as a new version"
            case .invalidParticipant(let problem): problem
            case .full(let what): what
            }
        }
    }

    /// What registering `definition` takes.
    public func register(_ definition: SagaDefinition) throws(RegistrationError) -> Registration {
        do { try definition.validate() } catch { throw .invalidDefinition(error) }
        if let existing = definitions[definition.name]?[definition.version] {
            if existing == definition { return .unchanged }
            throw .conflict(name: definition.name, version: definition.version)
        }
        guard definitionCount < Self.maximumDefinitions else {
            throw .full("the registry holds its maximum of \(Self.maximumDefinitions) definitions")
        }
        let data: JSONValue = ["schemaVersion": .integer(1), "definition": definition.json]
        return .append(type: Self.definitionRegistered, data: Array(data.text.utf8))
    }

    /// What registering participant `name` at `url` takes.
    public func register(participant name: String, url: String) throws(RegistrationError) -> Registration {
        guard !name.isEmpty, name.utf8.count <= SagaLimits.maximumParticipantBytes,
            name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") })
        else {
            throw .invalidParticipant("a participant name is 1…\(SagaLimits.maximumParticipantBytes) printable ASCII characters without spaces or /")
        }
        if let problem = Self.urlProblem(url) { throw .invalidParticipant(problem) }
        if participants[name] == url { return .unchanged }
        guard participants[name] != nil || participants.count < Self.maximumParticipants else {
            throw .full("the registry holds its maximum of \(Self.maximumParticipants) participants")
        }
        let data: JSONValue = ["schemaVersion": .integer(1), "name": .string(name), "url": .string(url)]
        return .append(type: Self.participantRegistered, data: Array(data.text.utf8))
    }

    /// Why `url` cannot be a participant's base URL, or nil.
    public static func urlProblem(_ url: String) -> String? {
        guard url.utf8.count <= maximumURLBytes else { return "a participant URL may be at most \(maximumURLBytes) bytes" }
        let schemes = ["http://", "https://"]
        guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else {
            return "a participant URL starts with http:// or https:// (got \(JSONString.quoted(url)))"
        }
        let rest = url.dropFirst(scheme.count)
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("?"), !rest.contains("#"), !rest.contains(" ") else {
            return "a participant URL is a scheme, a host and an optional port, without a path (got \(JSONString.quoted(url)))"
        }
        return nil
    }

    /// Folds one event of `saga-registry`. An event that does not decode is
    /// an error (the stream is written only by `register`).
    public mutating func apply(type: String, data: [UInt8]) throws(SagaEventDecodingError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: data, limits: SagaLimits.json) } catch {
            throw SagaEventDecodingError(type: type, message: "\(error)")
        }
        guard value["schemaVersion"]?.int64Value == 1 else {
            throw SagaEventDecodingError(type: type, message: "schemaVersion must be 1")
        }
        switch type {
        case Self.definitionRegistered:
            guard let json = value["definition"] else { throw SagaEventDecodingError(type: type, message: "no definition") }
            let definition: SagaDefinition
            do { definition = try SagaDefinition(json: json) } catch {
                throw SagaEventDecodingError(type: type, message: "\(error)")
            }
            definitions[definition.name, default: [:]][definition.version] = definition
        case Self.participantRegistered:
            guard let name = value["name"]?.stringValue, let url = value["url"]?.stringValue else {
                throw SagaEventDecodingError(type: type, message: "a participant needs a name and a url")
            }
            participants[name] = url
        default:
            throw SagaEventDecodingError(type: type, message: "not a registry event")
        }
        eventCount += 1
    }
}
