/// The README's worked example (an order summary and a customer balance),
/// kept here verbatim so the tests prove the documented file loads.
enum ProjectionExample {
    static let json = #"""
    {
      "projections": [
        {
          "name": "order_summary",
          "version": 1,
          "source": "order-*",
          "schema": [
            "CREATE TABLE order_summary (order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, total_cents INTEGER NOT NULL, status TEXT NOT NULL, placed_at INTEGER NOT NULL, last_position INTEGER NOT NULL)"
          ],
          "handlers": {
            "OrderPlaced": "INSERT INTO order_summary (order_id, customer_id, total_cents, status, placed_at, last_position) VALUES (:data.orderId, :data.customerId, :data.totalCents, 'placed', :recorded_time, :position)",
            "OrderShipped": "UPDATE order_summary SET status = 'shipped', last_position = :position WHERE order_id = :data.orderId",
            "OrderCancelled": "UPDATE order_summary SET status = 'cancelled', last_position = :position WHERE order_id = :data.orderId"
          },
          "queries": {
            "by_id": {"sql": "SELECT order_id, customer_id, total_cents, status FROM order_summary WHERE order_id = :id", "parameters": {"id": "text"}},
            "by_customer": {"sql": "SELECT order_id, total_cents, status FROM order_summary WHERE customer_id = :customer ORDER BY order_id LIMIT :limit", "parameters": {"customer": "text", "limit": "integer"}}
          }
        },
        {
          "name": "customer_balance",
          "version": 1,
          "source": "$all",
          "eventTypePrefixes": ["Order", "Payment"],
          "schema": [
            "CREATE TABLE customer_balance (customer_id TEXT PRIMARY KEY, balance_cents INTEGER NOT NULL DEFAULT 0, orders INTEGER NOT NULL DEFAULT 0)"
          ],
          "handlers": {
            "OrderPlaced": [
              "INSERT INTO customer_balance (customer_id) VALUES (:data.customerId) ON CONFLICT (customer_id) DO NOTHING",
              "UPDATE customer_balance SET balance_cents = balance_cents - :data.totalCents, orders = orders + 1 WHERE customer_id = :data.customerId"
            ],
            "PaymentReceived": "INSERT INTO customer_balance (customer_id, balance_cents) VALUES (:data.customerId, :data.amountCents) ON CONFLICT (customer_id) DO UPDATE SET balance_cents = balance_cents + excluded.balance_cents"
          },
          "queries": {
            "balance": {"sql": "SELECT customer_id, balance_cents, orders FROM customer_balance WHERE customer_id = :customer", "parameters": {"customer": "text"}},
            "debtors": {"sql": "SELECT customer_id, balance_cents FROM customer_balance WHERE balance_cents < 0 ORDER BY balance_cents, customer_id"}
          }
        }
      ]
    }
    """#
}
