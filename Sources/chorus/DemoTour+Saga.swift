import ChorusAPI
import ChorusClient
import ChorusCore
import ChorusLocalCluster
import ChorusShop
import Foundation
import NIOHTTP1

/// The payment story (issue 12): the meltdown Chorus is built against is a
/// stale read model, retries, and a customer charged seven times. Here the
/// charge's reply is lost and retried, yet applied once; a refused shipment
/// is undone in reverse order; and the client waits for the read model by
/// position instead of retrying.
extension Tour {
    func paymentSaga(follower: Int) async throws {
        heading("6. The payment saga: reserve → charge → ship, every decision an event in the saga's own stream")
        var faults = ShopFaults()
        let (paid, refused) = ("\(UInt32.random(in: 1_000...4_999))", "\(UInt32.random(in: 5_000...9_999))")
        faults.slowFirstCharge = [paid]
        faults.refusedShipments = [refused]
        let shop = try await Shop.start(faults: faults)
        do {
            try await runPaymentSaga(shop: shop, paid: paid, refused: refused, follower: follower)
        } catch {
            await shop.stop()
            throw error
        }
        await shop.stop()
        print("")
    }

    private func runPaymentSaga(shop: Shop, paid: String, refused: String, follower: Int) async throws {
        for service in ShopService.allCases { try await client.registerSagaParticipant(service.rawValue, url: shop.urls[service]!) }
        try await client.defineSaga(ShopSaga.definition())
        print("    participants inventory, payments, shipping at \(shop.urls[.inventory]!)…; definition order v1 (the shipment is the pivot)")

        // An order whose first charge reply is held past the attempt timeout.
        let startedAt = ContinuousClock.now
        let input: JSONValue = ["orderId": .string(paid), "sku": "tea", "quantity": 2, "amount": 4200]
        guard try await client.startSaga(ShopSaga.name, id: paid, input: input) else { throw TourError("order \(paid) existed") }
        guard try await !client.startSaga(ShopSaga.name, id: paid, input: input) else { throw TourError("a second start created another saga") }
        print("    POST /v1/sagas order/\(paid) → 201; the same start again (a client retry) → 200, the existing saga, nothing appended")
        let completed = try await client.waitForSaga(ShopSaga.name, id: paid, timeoutMilliseconds: 20_000)
        guard completed["state"]?.stringValue == "completed" else { throw TourError("order \(paid) ended \(completed["status"] ?? .null)") }
        printTimeline(completed)
        let charges = shop.ledger.count(.payments, "charge", order: paid)
        guard charges == 1 else { throw TourError("order \(paid) was charged \(charges) times") }
        step(
            "order \(paid) completed in \(milliseconds(since: startedAt)): the payment service got the charge twice "
                + "(its first reply was held past the 1 s timeout) and applied it once — same Idempotency-Key")

        // An order the shipping service refuses: the pivot fails, the charge is refunded, then the stock released.
        let refusedInput: JSONValue = ["orderId": .string(refused), "sku": "rice", "quantity": 1, "amount": 1250]
        _ = try await client.startSaga(ShopSaga.name, id: refused, input: refusedInput)
        let compensated = try await client.waitForSaga(ShopSaga.name, id: refused, timeoutMilliseconds: 20_000)
        guard compensated["state"]?.stringValue == "compensated" else {
            throw TourError("order \(refused) ended \(compensated["status"] ?? .null)")
        }
        printTimeline(compensated)
        let refunds = shop.ledger.count(.payments, "refund", order: refused)
        let releases = shop.ledger.count(.inventory, "release", order: refused)
        guard refunds == 1, releases == 1, shop.ledger.count(.shipping, "ship", order: refused) == 0 else {
            throw TourError("order \(refused): \(refunds) refunds, \(releases) releases")
        }
        step("order \(refused): shipping refused (address_invalid) → refunded, then released — reverse order, each applied once")

        // The read model of saga states, on a follower, waited on by the position of the saga's last event.
        let position = completed["events"]?.arrayValue?.last?["position"]?.int64Value ?? 0
        let waitedAt = ContinuousClock.now
        let query = try await client.send(
            .GET, url: cluster.httpURL(follower) + "/v1/projections/order_status/query/by_order?id=\(paid)&min-position=\(position)&timeout-ms=5000")
        guard query.status == 200, let json = try? JSONValue(parsing: query.body), let row = json["rows"]?[0], row[1]?.stringValue == "completed"
        else { throw TourError("the order_status read model on n\(follower) answered \(query.status) \(query.bodyText)") }
        step("the order_status read model on n\(follower), waited on for position \(position): \(row.text) in \(milliseconds(since: waitedAt))")
        print(style.dim("    (`chorus saga show order/\(paid)` prints this timeline; `chorus saga list --state parked` is the graveyard)"))
    }

    /// The saga's timeline without its timer bookkeeping.
    private func printTimeline(_ saga: JSONValue) {
        for line in saga["timeline"]?.arrayValue ?? [] {
            guard let text = line.stringValue, !text.contains("timer-set") else { continue }
            print(style.dim("     " + text))
        }
    }
}

private func print(_ line: String = "") { writeLine(line) }
