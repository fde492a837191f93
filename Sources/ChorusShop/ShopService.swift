import ChorusCore

/// The three participant services of the payment story: each idempotent on
/// `Idempotency-Key` (a repeated key gets the stored answer and changes
/// nothing), each treating the compensation of a key it never applied as a
/// successful no-op, as the saga engine's participants must (Sources/ChorusSagas/README.md).
///
/// | service | request | applies |
/// |---|---|---|
/// | inventory | `POST /reservations` `{"orderId","sku","quantity"}` | `reserve` → `{"reservationId"}` |
/// | inventory | `DELETE /reservations/{key}` | `release` of the reservation made under that key |
/// | payments | `POST /charges` `{"orderId","amount"}` | `charge` → `{"chargeId"}` |
/// | payments | `POST /refunds/{key}` | `refund` of the charge made under that key |
/// | shipping | `POST /shipments/{orderId}` | `ship` → `{"trackingId"}`, or 422 `address_invalid` for a refused order |
/// | every one | `GET /ledger` | what it applied: `{"entries": [...], "requests": N}` |
public enum ShopService: String, Sendable, Hashable, CaseIterable {
    case inventory, payments, shipping

    /// What one request does: the ledger entry it applies (nil: nothing) and the answer.
    func handle(method: String, path: String, body: JSONValue, key: String, ledger: ShopLedger, faults: ShopFaults)
        -> (entry: ShopLedger.Entry?, answer: ShopLedger.Answer)
    {
        let segments = path.split(separator: "/").map { Self.percentDecoded(String($0)) }
        let order = body["orderId"]?.stringValue ?? ""
        func applied(_ operation: String, order: String, _ result: JSONValue, status: Int = 201) -> (ShopLedger.Entry?, ShopLedger.Answer) {
            (ShopLedger.Entry(service: self, operation: operation, idempotencyKey: key, orderID: order), ShopLedger.Answer(status: status, body: result))
        }
        /// The order an earlier key applied, for compensations; nil when the key never applied.
        func original(_ operation: String, key: String) -> String? {
            ledger.entries.last { $0.service == self && $0.operation == operation && $0.idempotencyKey == key }?.orderID
        }
        switch (self, method, segments.first, segments.count) {
        case (.inventory, "POST", "reservations", 1):
            guard !order.isEmpty else { return (nil, Self.invalid("a reservation names its orderId")) }
            return applied("reserve", order: order, ["reservationId": .string("res-\(order)"), "sku": body["sku"] ?? .null])
        case (.inventory, "DELETE", "reservations", 2):
            guard let reserved = original("reserve", key: segments[1]) else { return (nil, ShopLedger.Answer(status: 200, body: ["released": false])) }
            return applied("release", order: reserved, ["released": true], status: 200)
        case (.payments, "POST", "charges", 1):
            guard !order.isEmpty, body["amount"]?.int64Value != nil else { return (nil, Self.invalid("a charge names its orderId and an integer amount")) }
            if faults.declinedCharges.contains(order) {
                return (nil, ShopLedger.Answer(status: 402, body: Self.error("card_declined", "the card was declined")))
            }
            return applied("charge", order: order, ["chargeId": .string("ch-\(order)"), "amount": body["amount"] ?? .null])
        case (.payments, "POST", "refunds", 2):
            guard let charged = original("charge", key: segments[1]) else { return (nil, ShopLedger.Answer(status: 200, body: ["refunded": false])) }
            return applied("refund", order: charged, ["refunded": true], status: 200)
        case (.shipping, "POST", "shipments", 2):
            let order = segments[1]
            if faults.refusedShipments.contains(order) {
                return (nil, ShopLedger.Answer(status: 422, body: Self.error("address_invalid", "no such street for order \(order)")))
            }
            return applied("ship", order: order, ["trackingId": .string("trk-\(order)")])
        default:
            return (nil, ShopLedger.Answer(status: 404, body: Self.error("not_found", "\(rawValue) has no \(method) \(path)")))
        }
    }

    /// `%XX` sequences decoded (a saga percent-encodes what it inserts into a path); malformed ones are kept as they are.
    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func invalid(_ message: String) -> ShopLedger.Answer { ShopLedger.Answer(status: 400, body: error("invalid_request", message)) }

    static func error(_ code: String, _ message: String) -> JSONValue {
        ["error": ["code": .string(code), "message": .string(message)]]
    }
}

/// Faults the shop injects on purpose, by order id.
public struct ShopFaults: Sendable, Hashable {
    /// Charges whose first answer is held for `slowReplyMilliseconds` after the charge is applied:
    /// the saga's attempt times out (the reply is as good as lost) and retries under the same key.
    public var slowFirstCharge: Set<String> = []
    public var slowReplyMilliseconds = 1_500
    /// Orders the shipping service refuses (422 `address_invalid`).
    public var refusedShipments: Set<String> = []
    /// Orders whose card is declined (402 `card_declined`).
    public var declinedCharges: Set<String> = []

    public init() {}
}
