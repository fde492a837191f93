import ChorusAPI
import ChorusCore
import ChorusEventStore

/// The text form of an expected state, as the API spells it in
/// `X-Chorus-Expected-Revision`, in bodies and in the CLI's
/// `--expected-revision`: `any`, `no_stream`, `stream_exists`, or a revision
/// as a decimal integer (`0` is the first event's revision).
extension ExpectedState {
    /// The state `text` names, or an `invalid_expected_version` problem.
    public static func parse(_ text: String) throws(APIProblem) -> ExpectedState {
        switch text {
        case "any": return .any
        case "no_stream": return .noStream
        case "stream_exists": return .streamExists
        default:
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let revision = UInt64(text)
            else {
                throw APIProblem(
                    .invalidExpectedVersion,
                    "an expected revision is any, no_stream, stream_exists or a revision (a non-negative integer), not \(JSONString.quoted(text))")
            }
            return .revision(StreamRevision(revision))
        }
    }

    public static func text(of state: ExpectedState) -> String {
        switch state {
        case .any: "any"
        case .noStream: "no_stream"
        case .streamExists: "stream_exists"
        case .revision(let revision): "\(revision.rawValue)"
        }
    }
}
