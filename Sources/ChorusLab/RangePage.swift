import ChorusAPI
import ChorusCheck
import ChorusClient
import ChorusCore
import NIOHTTP1

/// One page of a range read (`GET /v1/kv?prefix=P&limit=N&after=K`), as the
/// recorders of the lab and of the real-process tests need it: the entries'
/// keys and versions, the continuation, and the headers that say which level
/// and which node served it.
public struct RangePage: Sendable, Hashable {
    public var entries: [RangeEntry]
    public var continuation: String?
    /// `X-Chorus-Consistency` of the answer.
    public var consistency: String?
    /// `X-Chorus-Served-By` of the answer.
    public var servedBy: String?

    /// The URL of one page: `query` is the level's parameters (`consistency=…&max-versions=…`).
    public static func url(base: String, prefix: String, limit: Int, after: String?, query: String) -> String {
        var url = base + "/v1/kv?\(query)&limit=\(limit)&prefix=\(ChorusClient.encodePathSegment(prefix))"
        if let after { url += "&after=\(ChorusClient.encodePathSegment(after))" }
        return url
    }

    /// A 200 answer's page; a body without entries, keys or versions is an error naming what is missing.
    public init(parsing response: ChorusResponse) throws(RangePageError) {
        guard let body = try? JSONValue(parsing: response.body), let list = body["entries"]?.arrayValue else {
            throw RangePageError(reason: "a range answer without entries: \(excerpt(response))")
        }
        var entries: [RangeEntry] = []
        for entry in list {
            guard let key = entry["key"]?.stringValue else { throw RangePageError(reason: "an entry without a key: \(excerpt(response))") }
            guard let version = entry["version"]?.int64Value else {
                throw RangePageError(reason: "an entry without a version: \(excerpt(response))")
            }
            entries.append(RangeEntry(key: key, version: version))
        }
        self.entries = entries
        continuation = body["continuation"]?.stringValue
        consistency = response.headers.first(name: ChorusHeader.consistency)
        servedBy = response.headers.first(name: ChorusHeader.servedBy)
    }

    /// What the checkers record: cut short when it has a continuation or filled its limit.
    public func result(limit: Int) -> RangeReadResult {
        RangeReadResult(entries: entries, truncated: continuation != nil || entries.count == limit)
    }
}

/// The start of a body, for error messages (a limit on what an error carries).
private func excerpt(_ response: ChorusResponse) -> String {
    let limit = 200
    let text = response.bodyText
    return text.count <= limit ? text : String(text.prefix(limit)) + "…"
}

/// A range answer the recorder cannot read.
public struct RangePageError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { reason }
}

extension KeyValueRecorder {
    /// Records a single-key read's answer: the value (absent: `.null`, with
    /// no version) and the version of the write it returned.
    public func complete(_ handle: Handle, read: VersionedValue?) {
        guard let read else {
            complete(handle, outcome: .ok, value: .null)
            return
        }
        complete(handle, outcome: .ok, value: .string(String(decoding: read.value, as: UTF8.self)), version: Int64(read.version))
    }
}
