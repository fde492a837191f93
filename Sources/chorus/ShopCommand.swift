import ArgumentParser
import ChorusShop
import Foundation

/// `chorus shop`: the payment story's participants (inventory, payments,
/// shipping) as a process of their own, for sagas on a real cluster (the
/// real-process tests kill the cluster's leader around it).
struct ShopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shop",
        abstract: "Run the demo's saga participants (inventory, payments, shipping) until Ctrl-C.",
        discussion: """
            Each service de-duplicates on Idempotency-Key and records what it applied (GET /ledger on each). \
            Register them with `chorus saga participant NAME URL`; the order saga is ShopSaga in Sources/ChorusShop. \
            Prints one line per service, `NAME URL`, then `ready`.
            """
    )

    @Option(name: .customLong("base-port"), help: "inventory, payments and shipping listen on BASE, BASE+1, BASE+2 (default: free ports).")
    var basePort: Int?
    @Option(name: .customLong("refuse-shipment"), help: "An order id the shipping service refuses (422 address_invalid); repeatable.")
    var refusedShipments: [String] = []
    @Option(name: .customLong("decline"), help: "An order id whose card is declined (402 card_declined); repeatable.")
    var declined: [String] = []
    @Option(name: .customLong("slow-charge"), help: "An order id whose first charge answer is held 1.5 s after applying it; repeatable.")
    var slowCharges: [String] = []

    func validate() throws {
        if let basePort, !(1...65_533).contains(basePort) { throw ValidationError("--base-port must be in 1...65533") }
    }

    func run() async throws {
        var faults = ShopFaults()
        faults.refusedShipments = Set(refusedShipments)
        faults.declinedCharges = Set(declined)
        faults.slowFirstCharge = Set(slowCharges)
        let interrupted = SignalWaiter()
        let shop: Shop
        do { shop = try await Shop.start(faults: faults, basePort: basePort) } catch {
            printError("chorus shop: \(error)")
            throw ExitCode(1)
        }
        for service in ShopService.allCases { writeLine("\(service.rawValue) \(shop.urls[service]!)") }
        writeLine("ready")
        await interrupted.wait()
        await shop.stop()
    }
}
