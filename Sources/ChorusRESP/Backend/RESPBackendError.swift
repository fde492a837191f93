import ChorusAPI

/// Why a backend could not serve a request. Either a code of the Chorus API
/// (the same stable codes HTTP answers with, `ChorusAPI.ErrorCode`) or one of
/// the failures Redis clients know by their own error codes.
///
/// Rendering as a RESP error line (`reply`):
///
/// | code | line |
/// |---|---|
/// | `.wrongType` | `WRONGTYPE Operation against a key holding the wrong kind of value` |
/// | `.notAnInteger` | `ERR value is not an integer or out of range` |
/// | `.incrementOverflow` | `ERR increment or decrement would overflow` |
/// | `.wrongPassword` | `WRONGPASS invalid username-password pair or user is disabled.` |
/// | `.permissionDenied`, `.api(.permissionDenied)` | `NOPERM <message>` |
/// | `.api(.unauthenticated)` | `NOAUTH <message>` |
/// | `.api(.badRequest)`, `.api(.invalidKey)`, `.api(.rejected)` | `ERR <message>` |
/// | `.api(code)`, any other | `<CODE> <message>`, the code's name in capitals (`OUTCOME_UNKNOWN …`, `OVERLOADED …`) |
///
/// So a client branches on the first word, as it does with Redis, and the
/// Chorus code survives the trip.
public struct RESPBackendError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        case api(ErrorCode)
        case wrongType
        case notAnInteger
        case incrementOverflow
        case wrongPassword
        case permissionDenied
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public init(_ code: ErrorCode, _ message: String) {
        self.init(.api(code), message)
    }

    public static let wrongType = RESPBackendError(.wrongType)
    public static let notAnInteger = RESPBackendError(.notAnInteger)
    public static let incrementOverflow = RESPBackendError(.incrementOverflow)
    public static let wrongPassword = RESPBackendError(.wrongPassword)

    /// The error as the connection answers it.
    public var reply: RESPError {
        switch code {
        case .wrongType: .wrongType
        case .notAnInteger: .notAnInteger
        case .incrementOverflow: .incrementOverflow
        case .wrongPassword: .wrongPassword
        case .permissionDenied: RESPError("NOPERM", message.isEmpty ? "this user has no permissions to run this command" : message)
        case .api(let apiCode):
            switch apiCode {
            case .badRequest, .invalidKey, .rejected: RESPError("ERR", message)
            // Redis's own words for the two authorization failures.
            case .permissionDenied: RESPError("NOPERM", message.isEmpty ? "this user has no permissions to run this command" : message)
            case .unauthenticated: RESPError("NOAUTH", message.isEmpty ? "Authentication required." : message)
            default: RESPError(apiCode.rawValue.uppercased(), message)
            }
        }
    }

    public var description: String { reply.line }
}
