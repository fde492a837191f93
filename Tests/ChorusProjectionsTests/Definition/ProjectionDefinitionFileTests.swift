import ChorusTesting
import ChorusEventStore
import Testing

@testable import ChorusProjections

/// The definitions file: the README's example loads exactly, and every
/// malformed file is refused with a message that says where and what.
@Suite struct ProjectionDefinitionFileTests {
    @Test func theWorkedExampleLoadsExactly() throws {
        let definitions = try ProjectionDefinitionFile.decode(Array(ProjectionWorkedExample.json().utf8))
        #expect(definitions.map(\.name) == ["order_summary", "customer_balance"])
        let orders = definitions[0]
        #expect(orders.version == 1 && orders.source == .category("order"))
        #expect(orders.source.subscriptionSource == .all(EventFilter(streamNamePrefixes: ["order-"])))
        #expect(orders.handlers.map(\.eventType) == ["OrderPlaced", "OrderShipped", "OrderCancelled"])
        let placed = try #require(orders.handler(for: "OrderPlaced")?.statements.first)
        #expect(placed.parameters == [.data(path: ["orderId"]), .data(path: ["customerId"]), .data(path: ["totalCents"]), .recordedTime, .position])
        #expect(placed.sql.text.hasSuffix("VALUES (?1, ?2, ?3, 'placed', ?4, ?5)"))
        let byCustomer = try #require(orders.query(named: "by_customer"))
        #expect(byCustomer.parameters == [.init(name: "customer", type: .text), .init(name: "limit", type: .integer)])
        let balance = definitions[1]
        #expect(balance.source == .all(eventTypePrefixes: ["Order", "Payment"]))
        #expect(balance.handler(for: "OrderPlaced")?.statements.count == 2)
        #expect(balance.query(named: "debtors")?.parameters == [])
    }

    static func file(_ projection: String) -> [UInt8] { Array(#"{"projections":[\#(projection)]}"#.utf8) }

    static let valid = #""name":"p","version":1,"source":"s-1","schema":["CREATE TABLE t (a)"],"handlers":{"E":"INSERT INTO t VALUES (:data.a)"}"#

    @Test func malformedFilesGetSpecificErrors() {
        let cases: [([UInt8], String)] = [
            (Array("{".utf8), "the definitions file is not valid JSON"),
            (Array(#"{"projection":[]}"#.utf8), "the definitions file has an unknown member \"projection\" (known: projections)"),
            (Self.file("{\(Self.valid),\"handler\":{}}"), "projection 'p': the projection has an unknown member \"handler\""),
            (Self.file(#"{"version":1}"#), "projection 1 has no \"name\" string"),
            (Self.file(#"{"name":"Bad-Name","version":1,"source":"s","schema":["CREATE TABLE t (a)"],"handlers":{"E":"SELECT 1"}}"#),
             "projection 'Bad-Name': the projection name 'Bad-Name' must be lowercase letters, digits and '_', starting with a letter"),
            (Self.file(#"{"name":"p","version":0,"source":"s","schema":["CREATE TABLE t (a)"],"handlers":{"E":"SELECT 1"}}"#),
             "projection 'p': the version must be at least 1 (is 0)"),
            (Self.file(#"{"name":"p","version":1,"source":"$kv-default","schema":["CREATE TABLE t (a)"],"handlers":{"E":"SELECT 1"}}"#),
             "projection 'p': the source '$kv-default' is a system stream"),
            (Self.file(#"{"name":"p","version":1,"source":"s","eventTypePrefixes":["E"],"schema":["CREATE TABLE t (a)"],"handlers":{"E":"SELECT 1"}}"#),
             "projection 'p': eventTypePrefixes only narrows a '$all' source"),
            (Self.file(#"{"name":"p","version":1,"source":"$all","eventTypePrefixes":["Order"],"schema":["CREATE TABLE t (a)"],"handlers":{"Payment":"SELECT 1"}}"#),
             "projection 'p': the handler for 'Payment' can never run: the source only takes types starting with 'Order'"),
            (Self.file(#"{"name":"p","version":1,"source":"s","schema":["CREATE TABLE t (a)"],"handlers":{"E":"INSERT INTO t VALUES (:data.a, :revison)"}}"#),
             "projection 'p', handler 'E' statement 1: unknown parameter ':revison' (event parameters: :stream, :revision"),
            (Self.file(#"{"name":"p","version":1,"source":"s","schema":["CREATE TABLE t (a)"],"handlers":{"E":["SELECT 1", "SELECT ?"]}}"#),
             "projection 'p', handler 'E' statement 2: '?' parameters are not supported"),
            (Self.file(#"{"name":"p","version":1,"source":"s","schema":["CREATE TABLE t (:a)"],"handlers":{"E":"SELECT 1"}}"#),
             "projection 'p', schema statement 1: a schema statement takes no parameters (found ':a')"),
            (Self.file(#"{"name":"p","version":1,"source":"s","schema":[],"handlers":{"E":"SELECT 1"}}"#),
             "projection 'p': the schema is empty"),
            (Self.file(#"{"name":"p","version":1,"source":"s","schema":["CREATE TABLE t (a)"],"handlers":{}}"#),
             "projection 'p': no handlers"),
            (Self.file("{\(Self.valid),\"queries\":{\"q\":{\"sql\":\"SELECT a FROM t WHERE a = :x\"}}}"),
             "projection 'p', query 'q': the statement uses ':x', which is not declared in its parameters"),
            (Self.file("{\(Self.valid),\"queries\":{\"q\":{\"sql\":\"SELECT a FROM t\",\"parameters\":{\"x\":\"text\"}}}}"),
             "projection 'p', query 'q': the parameter 'x' is declared but the statement never uses it"),
            (Self.file("{\(Self.valid),\"queries\":{\"q\":{\"sql\":\"SELECT a FROM t WHERE a = :x\",\"parameters\":{\"x\":\"date\"}}}}"),
             "projection 'p', query 'q': the parameter 'x' has type \"date\", not one of text, integer, real, boolean"),
            (Array(#"{"projections":[{\#(Self.valid)},{\#(Self.valid)}]}"#.utf8), "projection 'p': two projections have this name"),
        ]
        for (bytes, prefix) in cases {
            do {
                _ = try ProjectionDefinitionFile.decode(bytes)
                Issue.record("accepted: \(String(decoding: bytes, as: UTF8.self))")
            } catch {
                #expect(error.description.hasPrefix(prefix), "\(error.description)")
            }
        }
    }

    @Test func sourcesParseAsDocumented() throws {
        #expect(try ProjectionSource(text: "order-42", eventTypePrefixes: [], limits: .default) == .stream("order-42"))
        #expect(try ProjectionSource(text: "order-*", eventTypePrefixes: [], limits: .default) == .category("order"))
        #expect(try ProjectionSource(text: "$all", eventTypePrefixes: [], limits: .default).subscriptionSource == .all(.clientStreams))
        #expect(throws: ProjectionDefinitionError("the category '-*' names no kind")) {
            try ProjectionSource(text: "-*", eventTypePrefixes: [], limits: .default)
        }
        #expect(throws: ProjectionDefinitionError("the source 'a*b' has a '*' that is not a category's '-*' suffix")) {
            try ProjectionSource(text: "a*b", eventTypePrefixes: [], limits: .default)
        }
    }
}
