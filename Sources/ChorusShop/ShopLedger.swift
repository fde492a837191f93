import ChorusCore
import Synchronization

/// What the shop's services applied, and the answer each idempotency key
/// got, so a repeated key is answered from the ledger and applied once.
public final class ShopLedger: Sendable {
    /// One application: a key that changed something.
    public struct Entry: Sendable, Hashable {
        public var service: ShopService
        /// `reserve`, `release`, `charge`, `refund` or `ship`.
        public var operation: String
        public var idempotencyKey: String
        public var orderID: String

        public var json: JSONValue {
            ["service": .string(service.rawValue), "operation": .string(operation), "idempotencyKey": .string(idempotencyKey),
             "orderId": .string(orderID)]
        }
    }

    /// A stored answer: status and JSON body.
    public struct Answer: Sendable, Hashable {
        public var status: Int
        public var body: JSONValue
    }

    struct State {
        var entries: [Entry] = []
        var answers: [String: Answer] = [:]
        /// Requests received per service (repeats included).
        var requests: [ShopService: Int] = [:]
        /// Keys whose first answer is being delayed.
        var delayed: Set<String> = []
    }

    /// Keys remembered, at most (the oldest answers are never dropped below this; a shop is a demo, not a bank).
    public static let maximumKeys = 1 << 20

    let state = Mutex(State())

    public init() {}

    public var entries: [Entry] { state.withLock { $0.entries } }

    public func requests(_ service: ShopService) -> Int { state.withLock { $0.requests[service, default: 0] } }

    /// The stored answer of `key` at `service`, counting the request.
    func stored(_ service: ShopService, key: String) -> Answer? {
        state.withLock { state in
            state.requests[service, default: 0] += 1
            return state.answers["\(service.rawValue) \(key)"]
        }
    }

    /// Applies `entry` once and stores its answer; a racing duplicate gets the first answer.
    func record(_ entry: Entry?, answer: Answer, service: ShopService, key: String) -> Answer {
        state.withLock { state in
            let slot = "\(service.rawValue) \(key)"
            if let existing = state.answers[slot] { return existing }
            guard state.answers.count < Self.maximumKeys else { return Answer(status: 503, body: ShopService.error("ledger_full", "too many keys")) }
            if let entry { state.entries.append(entry) }
            state.answers[slot] = answer
            return answer
        }
    }

    /// The entries of one service and operation for one order.
    public func count(_ service: ShopService, _ operation: String, order: String? = nil) -> Int {
        entries.filter { $0.service == service && $0.operation == operation && (order == nil || $0.orderID == order) }.count
    }
}
