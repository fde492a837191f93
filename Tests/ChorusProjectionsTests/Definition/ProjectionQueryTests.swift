import Testing

@testable import ChorusProjections

/// Query arguments arrive as text and are checked against the declaration.
@Suite struct ProjectionQueryTests {
    static let query = try! ProjectionQuery(
        name: "by_customer", sql: "SELECT * FROM t WHERE customer = :customer AND total > :minimum AND open = :open LIMIT :limit",
        parameters: [.init(name: "limit", type: .integer), .init(name: "customer", type: .text), .init(name: "open", type: .boolean),
                     .init(name: "minimum", type: .real)])

    @Test func bindsInStatementOrderWithTypes() throws {
        let values = try Self.query.bind([("limit", "10"), ("customer", "c-1"), ("minimum", "2.5"), ("open", "true")])
        #expect(values == [.text("c-1"), .real(2.5), .integer(1), .integer(10)])
    }

    @Test func wrongArgumentsNameTheParameter() {
        let all = [("customer", "c"), ("minimum", "1"), ("open", "0"), ("limit", "1")]
        let cases: [([(String, String)], QueryParameterError)] = [
            (all.filter { $0.0 != "limit" }, QueryParameterError(parameter: "limit", "the query 'by_customer' needs the integer parameter 'limit'")),
            (all + [("colour", "red")], QueryParameterError(
                parameter: "colour", "the query 'by_customer' has no parameter 'colour' (its parameters: customer, limit, minimum, open)")),
            (all.map { $0.0 == "limit" ? ("limit", "ten") : $0 }, QueryParameterError(parameter: "limit", "the parameter 'limit' must be an integer, not 'ten'")),
            (all.map { $0.0 == "minimum" ? ("minimum", "nan") : $0 }, QueryParameterError(parameter: "minimum", "the parameter 'minimum' must be a real, not 'nan'")),
            (all.map { $0.0 == "open" ? ("open", "yes") : $0 }, QueryParameterError(parameter: "open", "the parameter 'open' must be a boolean, not 'yes'")),
            (all + [("limit", "2")], QueryParameterError(parameter: "limit", "the parameter 'limit' is given 2 times")),
        ]
        for (arguments, expected) in cases {
            #expect(throws: expected) { try Self.query.bind(arguments.map { (name: $0.0, value: $0.1) }) }
        }
    }
}
