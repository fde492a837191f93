import ChorusCore

/// An error as the API reports it: a code and a sentence for people. Its JSON
/// form is the body of every error response:
///
///     {"error":{"code":"version_mismatch","message":"the key's version is 42"}}
public struct APIProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The JSON body, with a final newline.
    public var json: String {
        "{\"error\":{\"code\":\"\(code.rawValue)\",\"message\":\(JSONString.quoted(message))}}\n"
    }

    /// Decodes an error body. Nil if it is not one, or names a code this
    /// release does not know (a newer server): the caller falls back to the status.
    public init?(json bytes: [UInt8]) {
        guard let value = try? JSONValue(parsing: bytes), let error = value["error"],
            let code = error["code"]?.stringValue.flatMap(ErrorCode.init(rawValue:))
        else { return nil }
        self.code = code
        self.message = error["message"]?.stringValue ?? ""
    }

    public var description: String { "\(code): \(message)" }
}
