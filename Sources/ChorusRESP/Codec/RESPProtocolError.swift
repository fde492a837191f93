/// Input that is not RESP. redis-server answers it with
/// `-ERR Protocol error: <reason>` and closes the connection (networking.c,
/// `setProtocolError`): after a framing error nothing that follows can be
/// trusted to start a command. The reasons are Redis's own words where Redis
/// has the case.
public struct RESPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// An inline command line longer than `maximumInlineLineBytes`.
        case inlineRequestTooBig
        /// Quotes that do not close, or a closing quote not followed by a space.
        case unbalancedQuotes
        /// A `*` line longer than a length line may be.
        case multibulkCountTooBig
        /// A `$` line longer than a length line may be.
        case bulkCountTooBig
        /// The `*` count is not a decimal, or exceeds `maximumArrayElements`.
        case invalidMultibulkLength
        /// The `$` length is not a decimal, is negative, or exceeds `maximumBulkBytes`.
        case invalidBulkLength
        /// An argument of a command did not start with `$`.
        case expectedBulk(found: UInt8)
        /// A bulk's bytes were not followed by CRLF (Redis skips two bytes
        /// unchecked; we refuse, so a desynchronised stream stops at once).
        case missingBulkTerminator
        /// A length line whose CR is not followed by LF.
        case missingLineFeed
        /// The arguments of one command exceed `maximumCommandBytes`.
        case commandTooBig
        /// More than `maximumUnauthenticatedArrayElements` arguments before authentication.
        case unauthenticatedMultibulkLength
        /// A bulk larger than `maximumUnauthenticatedBulkBytes` before authentication.
        case unauthenticatedBulkLength
        /// Reply parsing only: a type byte RESP does not define.
        case unknownType(UInt8)
        /// Reply parsing only: a line that does not hold what its type requires.
        case invalidLine(String)
        /// Reply parsing only: aggregates nested deeper than `maximumNestingDepth`.
        case nestingTooDeep
    }

    public var reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    /// The text after `Protocol error: `, as redis-server words it.
    public var description: String {
        switch reason {
        case .inlineRequestTooBig: "too big inline request"
        case .unbalancedQuotes: "unbalanced quotes in request"
        case .multibulkCountTooBig: "too big mbulk count string"
        case .bulkCountTooBig: "too big bulk count string"
        case .invalidMultibulkLength: "invalid multibulk length"
        case .invalidBulkLength: "invalid bulk length"
        case .expectedBulk(let found): "expected '$', got '\(Self.printable(found))'"
        case .missingBulkTerminator: "expected CRLF after a bulk string"
        case .missingLineFeed: "expected LF after CR"
        case .commandTooBig: "too big command"
        case .unauthenticatedMultibulkLength: "unauthenticated multibulk length"
        case .unauthenticatedBulkLength: "unauthenticated bulk length"
        case .unknownType(let byte): "unknown type byte '\(Self.printable(byte))'"
        case .invalidLine(let what): what
        case .nestingTooDeep: "aggregates nested too deep"
        }
    }

    /// The error line a server sends before it closes the connection.
    public var reply: RESPValue { .error("ERR Protocol error: \(description)") }

    /// A byte as a character an error line may carry (no CR, LF or control byte).
    static func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x\(hexDigits(byte))"
    }

    static func hexDigits(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
