/// A named, parameterised, read-only query declared with its projection: the
/// only SQL a client can run over the API (no arbitrary SQL over HTTP). Each
/// parameter is declared with a type, and every declared parameter must be
/// used and every used one declared, so a typo is an error at load, not an
/// empty answer at run time.
public struct ProjectionQuery: Sendable, Hashable {
    public enum ParameterType: String, Sendable, Hashable, CaseIterable {
        case text, integer, real, boolean
    }

    public struct Parameter: Sendable, Hashable {
        public let name: String
        public let type: ParameterType
        public init(name: String, type: ParameterType) {
            self.name = name
            self.type = type
        }
    }

    public let name: String
    public let sql: ParameterizedSQL
    /// In the order of the statement's numbers: `parameters[i]` binds `?(i+1)`.
    public let parameters: [Parameter]

    /// `parameters` in any order; they are matched to the statement by name.
    public init(name: String, sql text: String, parameters declared: [Parameter], limits: ProjectionLimits = .default)
        throws(ProjectionDefinitionError)
    {
        let location = "query '\(name)'"
        do throws(ProjectionDefinitionError) {
            try ProjectionDefinition.validate(name: name, what: "query", limits: limits)
        } catch {
            throw error.at(location: location)
        }
        let parsed: ParameterizedSQL
        do { parsed = try ParameterizedSQL(text, limits: limits) } catch { throw error.at(location: location) }
        var ordered: [Parameter] = []
        for used in parsed.parameterNames {
            guard let parameter = declared.first(where: { $0.name == used }) else {
                throw ProjectionDefinitionError(location: location, "the statement uses ':\(used)', which is not declared in its parameters")
            }
            ordered.append(parameter)
        }
        var seen = Set<String>()
        for parameter in declared {
            guard seen.insert(parameter.name).inserted else {
                throw ProjectionDefinitionError(location: location, "the parameter '\(parameter.name)' is declared twice")
            }
            guard parsed.parameterNames.contains(parameter.name) else {
                throw ProjectionDefinitionError(location: location, "the parameter '\(parameter.name)' is declared but the statement never uses it")
            }
        }
        self.name = name
        self.sql = parsed
        self.parameters = ordered
    }

    /// The values for `?1…?n` from a request's text arguments, or an error
    /// naming the parameter that is missing, unknown or of the wrong type.
    public func bind(_ arguments: [(name: String, value: String)]) throws(QueryParameterError) -> [ProjectionValue] {
        for argument in arguments where !parameters.contains(where: { $0.name == argument.name }) {
            let known = parameters.map(\.name).sorted().joined(separator: ", ")
            throw QueryParameterError(
                parameter: argument.name,
                "the query '\(name)' has no parameter '\(argument.name)' (its parameters: \(known.isEmpty ? "none" : known))")
        }
        var values: [ProjectionValue] = []
        for parameter in parameters {
            let given = arguments.filter { $0.name == parameter.name }
            guard let text = given.first?.value else {
                throw QueryParameterError(parameter: parameter.name, "the query '\(name)' needs the \(parameter.type.rawValue) parameter '\(parameter.name)'")
            }
            guard given.count == 1 else {
                throw QueryParameterError(parameter: parameter.name, "the parameter '\(parameter.name)' is given \(given.count) times")
            }
            values.append(try Self.convert(text, to: parameter))
        }
        return values
    }

    static func convert(_ text: String, to parameter: Parameter) throws(QueryParameterError) -> ProjectionValue {
        func wrong() -> QueryParameterError {
            QueryParameterError(parameter: parameter.name, "the parameter '\(parameter.name)' must be \(parameter.type.article) \(parameter.type.rawValue), not '\(text)'")
        }
        switch parameter.type {
        case .text: return .text(text)
        case .integer:
            guard let value = Int64(text) else { throw wrong() }
            return .integer(value)
        case .real:
            guard let value = Double(text), value.isFinite else { throw wrong() }
            return .real(value)
        case .boolean:
            switch text {
            case "true", "1": return .integer(1)
            case "false", "0": return .integer(0)
            default: throw wrong()
            }
        }
    }
}

extension ProjectionQuery.ParameterType {
    var article: String { self == .integer ? "an" : "a" }
}

/// A query request whose parameters do not fit the query's declaration.
public struct QueryParameterError: Error, Sendable, Hashable, CustomStringConvertible {
    public var parameter: String
    public var message: String
    public init(parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }
    public var description: String { message }
}
