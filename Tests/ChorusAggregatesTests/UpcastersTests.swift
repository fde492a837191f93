import ChorusClient
import ChorusCore
import Testing

@testable import ChorusAggregates

/// Upcasting: chains from any stored version to the current one, the stored
/// event untouched, and an error naming the type and versions where a step is
/// missing or the event is newer than the code.
@Suite struct UpcastersTests {
    static func event(_ type: String, version: UInt32, _ json: String) -> ClientEvent {
        ClientEvent(
            stream: "account-1", revision: 3, position: 10, id: "e", type: type, contentType: "application/json",
            schemaVersion: version, recordedTimeMicroseconds: 0, data: Array(json.utf8), metadata: [])
    }

    static var deposits: Upcasters {
        var upcasters = Upcasters()
        // v1 {"cents":N} → v2 {"amount":N,"currency":"EUR"} → v3 adds "note".
        upcasters.register("Deposited", from: 1) { event in
            var event = event
            let cents = try JSONValue(parsing: event.data)["cents"]?.int64Value ?? 0
            event.data = Array(#"{"amount":\#(cents),"currency":"EUR"}"#.utf8)
            return event
        }
        upcasters.register("Deposited", from: 2) { event in
            var event = event
            let body = try JSONValue(parsing: event.data)
            let amount = body["amount"]?.int64Value ?? 0
            let currency = body["currency"]?.stringValue ?? "?"
            event.data = Array(#"{"amount":\#(amount),"currency":"\#(currency)","note":""}"#.utf8)
            return event
        }
        return upcasters
    }

    @Test func everyStoredVersionReachesTheCurrentOne() throws {
        let upcasters = Self.deposits
        #expect(upcasters.currentVersion(of: "Deposited") == 3)
        #expect(upcasters.currentVersion(of: "Opened") == 1)
        let fromOne = try upcasters.upcast(Self.event("Deposited", version: 1, #"{"cents":250}"#))
        #expect(fromOne.schemaVersion == 3)
        #expect(String(decoding: fromOne.data, as: UTF8.self) == #"{"amount":250,"currency":"EUR","note":""}"#)
        let fromTwo = try upcasters.upcast(Self.event("Deposited", version: 2, #"{"amount":7,"currency":"USD"}"#))
        #expect(String(decoding: fromTwo.data, as: UTF8.self) == #"{"amount":7,"currency":"USD","note":""}"#)
        let current = Self.event("Deposited", version: 3, #"{"amount":1,"currency":"EUR","note":"x"}"#)
        #expect(try upcasters.upcast(current) == current, "the current version passes unchanged")
        let other = Self.event("Opened", version: 1, #"{"owner":"ada"}"#)
        #expect(try upcasters.upcast(other) == other)
    }

    @Test func aMissingStepOrANewerEventIsAnErrorNamingIt() {
        var upcasters = Upcasters()
        upcasters.register("Deposited", from: 2) { $0 }
        #expect(throws: AggregateError.self) { try upcasters.upcast(Self.event("Deposited", version: 1, "{}")) }
        do {
            _ = try upcasters.upcast(Self.event("Deposited", version: 1, "{}"))
        } catch {
            #expect("\(error)" == "upcasting: account-1@3: no upcaster for Deposited version 1 (current: 3)")
        }
        do {
            _ = try upcasters.upcast(Self.event("Deposited", version: 4, "{}"))
            Issue.record("an event newer than the code was read")
        } catch {
            #expect("\(error)" == "upcasting: account-1@3: Deposited version 4 is newer than this code knows (3)")
        }
        var failing = Upcasters()
        failing.register("Deposited", from: 1) { _ in throw AggregateError.decoding("bad bytes") }
        do {
            _ = try failing.upcast(Self.event("Deposited", version: 1, "{}"))
        } catch {
            #expect("\(error)".contains("upcasting Deposited from version 1 failed"), "\(error)")
        }
    }
}
