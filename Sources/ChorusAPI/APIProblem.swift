import ChorusCore

/// An error as the API reports it: a code and a sentence for people, and for
/// some codes facts a program needs (the actual revision of a
/// `wrong_expected_version`). Its JSON form is the body of every error response:
///
///     {"error":{"code":"version_mismatch","message":"the key's version is 42"}}
///     {"error":{"code":"wrong_expected_version","message":"…","stream":"order-1","actualRevision":4}}
///
/// The facts (`details`) are members of the `error` object after `code` and
/// `message`, so a client that knows only the two still reads every error.
public struct APIProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// Machine-readable facts of this error, in order; never `code` or `message`.
    public var details: JSONObject

    public init(_ code: ErrorCode, _ message: String, details: JSONObject = JSONObject()) {
        self.code = code
        self.message = message
        self.details = details
    }

    /// The JSON body, with a final newline.
    public var json: String {
        var text = "{\"error\":{\"code\":\"\(code.rawValue)\",\"message\":\(JSONString.quoted(message))"
        for member in details where member.key != "code" && member.key != "message" {
            text += ","
            JSONString.write(member.key, to: &text)
            text += ":" + member.value.text
        }
        return text + "}}\n"
    }

    /// Decodes an error body. Nil if it is not one, or names a code this
    /// release does not know (a newer server): the caller falls back to the status.
    public init?(json bytes: [UInt8]) {
        guard let value = try? JSONValue(parsing: bytes), let error = value["error"],
            let code = error["code"]?.stringValue.flatMap(ErrorCode.init(rawValue:))
        else { return nil }
        self.code = code
        self.message = error["message"]?.stringValue ?? ""
        var details = JSONObject()
        for member in error.objectValue ?? JSONObject() where member.key != "code" && member.key != "message" {
            details[member.key] = member.value
        }
        self.details = details
    }

    public var description: String { "\(code): \(message)" }
}
