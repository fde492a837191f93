/// What an event's data is, as a label: the store keeps it with the event and
/// never parses the data (the HTTP edge checks JSON it receives as JSON).
public enum ContentType: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case json = 1
    case octetStream = 2

    /// The media type (RFC 6838) as the API spells it.
    public var mediaType: String {
        switch self {
        case .json: "application/json"
        case .octetStream: "application/octet-stream"
        }
    }

    /// The content type of a media type, ignoring ASCII case and parameters
    /// (`application/json; charset=utf-8`), or nil for any other media type.
    public init?(mediaType: String) {
        let essence = mediaType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingASCIISpaces().lowercasedASCII() }
        switch essence {
        case "application/json": self = .json
        case "application/octet-stream": self = .octetStream
        default: return nil
        }
    }

    public var description: String { mediaType }
}

extension Substring {
    fileprivate func trimmingASCIISpaces() -> Substring {
        var result = self
        while result.first == " " || result.first == "\t" { result.removeFirst() }
        while result.last == " " || result.last == "\t" { result.removeLast() }
        return result
    }

    fileprivate func lowercasedASCII() -> String {
        String(decoding: utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
