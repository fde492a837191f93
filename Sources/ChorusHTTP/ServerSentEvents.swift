import ChorusAPI
import ChorusEventStore
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// Server-sent events (WHATWG HTML, "Server-sent events"): the framing of the
/// subscription routes. Each message is `event:`, an optional `id:` and one
/// `data:` line of JSON, ended by a blank line; a comment line (`: …`) is a
/// heartbeat. The `id:` of events and checkpoints is a global position, so a
/// client that reconnects with `Last-Event-ID` resumes right after it.
enum ServerSentEvents {
    static let headers: HTTPFields = [
        .contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no",
    ]

    static func append(event name: String, id: String? = nil, data: String, to buffer: inout ByteBuffer) {
        if let id { buffer.writeString("id: \(id)\n") }
        buffer.writeString("event: \(name)\ndata: ")
        buffer.writeString(data)
        buffer.writeString("\n\n")
    }

    static func comment(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeString(": \(text)\n\n")
    }

    /// An error event that ends the stream: the API's error JSON.
    static func error(_ problem: APIProblem, to buffer: inout ByteBuffer) {
        var json = problem.json
        json.removeLast()  // the final newline
        append(event: "error", data: json, to: &buffer)
    }

    /// The `id:` of a cursor: the position it is after, or none for the start.
    static func id(of cursor: SubscriptionCursor) -> String? {
        switch cursor {
        case .start: nil
        case .after(let position): "\(position.rawValue)"
        }
    }

    static func cursorJSON(_ cursor: SubscriptionCursor) -> String {
        "{\"position\":\(id(of: cursor) ?? "null")}"
    }

    /// One catch-up subscription message.
    static func append(_ message: SubscriptionMessage, to buffer: inout ByteBuffer) {
        switch message {
        case .event(let event):
            append(event: "event", id: "\(event.position.rawValue)", data: EventJSON.render(event), to: &buffer)
        case .caughtUp(let cursor):
            append(event: "caught-up", id: id(of: cursor), data: cursorJSON(cursor), to: &buffer)
        case .fellBehind(let cursor):
            append(event: "fell-behind", data: cursorJSON(cursor), to: &buffer)
        case .checkpoint(let cursor):
            append(event: "checkpoint", id: id(of: cursor), data: cursorJSON(cursor), to: &buffer)
        case .heartbeat:
            comment("heartbeat", to: &buffer)
        }
    }
}
