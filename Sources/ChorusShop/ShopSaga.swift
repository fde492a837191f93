/// The order saga of the payment story, over the shop's services:
/// reserve (released on compensation) → charge (refunded on compensation)
/// → ship, the **pivot**: once a parcel leaves, nothing is undone, so a
/// refused shipment compensates the charge and then the reservation, and a
/// shipment that went out completes the saga.
///
/// (The saga core's README uses charge as the pivot in its worked example;
/// here the refund after a shipping failure asks for the charge to be
/// compensatable, so the shipment is the point of no return.)
public enum ShopSaga {
    public static let name = "order"

    /// Attempts time out after `attemptTimeoutMilliseconds`; retries start
    /// after 200 ms. Compensations reference the step's idempotency key, so
    /// they can run even for a step whose answer was never seen.
    public static func definition(attemptTimeoutMilliseconds: Int = 1_000) -> String {
        """
        {"name": "order", "version": 1, "deadlineMilliseconds": 60000, "steps": [
          {"id": "reserve", "kind": "compensatable",
           "action": {"participant": "inventory", "method": "POST", "path": "/reservations",
                      "body": {"orderId": "{{input.orderId}}", "sku": "{{input.sku}}", "quantity": "{{input.quantity}}"}},
           "compensation": {"participant": "inventory", "method": "DELETE", "path": "/reservations/{{steps.reserve.idempotencyKey}}",
                            "retry": {"initialIntervalMilliseconds": 200, "maximumAttempts": 5}},
           "retry": {"initialIntervalMilliseconds": 200, "maximumAttempts": 5, "nonRetryableErrorCodes": ["out_of_stock"]},
           "attemptTimeoutMilliseconds": \(attemptTimeoutMilliseconds),
           "lock": {"name": "order:{{input.orderId}}", "expiryMilliseconds": 60000, "onContention": "fail"}},
          {"id": "charge", "kind": "compensatable",
           "action": {"participant": "payments", "method": "POST", "path": "/charges",
                      "body": {"orderId": "{{input.orderId}}", "amount": "{{input.amount}}"}},
           "compensation": {"participant": "payments", "method": "POST", "path": "/refunds/{{steps.charge.idempotencyKey}}",
                            "retry": {"initialIntervalMilliseconds": 200, "maximumAttempts": 5}},
           "retry": {"initialIntervalMilliseconds": 200, "maximumAttempts": 5, "nonRetryableErrorCodes": ["card_declined"]},
           "attemptTimeoutMilliseconds": \(attemptTimeoutMilliseconds)},
          {"id": "ship", "kind": "pivot",
           "action": {"participant": "shipping", "method": "POST", "path": "/shipments/{{input.orderId}}",
                      "body": {"orderId": "{{input.orderId}}", "chargeId": "{{steps.charge.result.chargeId}}"}},
           "retry": {"initialIntervalMilliseconds": 200, "maximumAttempts": 5, "nonRetryableErrorCodes": ["address_invalid"]},
           "attemptTimeoutMilliseconds": \(attemptTimeoutMilliseconds)}
        ]}
        """
    }
}
