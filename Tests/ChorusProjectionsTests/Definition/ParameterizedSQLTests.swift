import Testing

@testable import ChorusProjections

/// Named parameters become numbered ones, and only outside literals, quoted
/// identifiers and comments.
@Suite struct ParameterizedSQLTests {
    @Test func namesBecomeNumbersInOrderOfFirstUse() throws {
        let sql = try ParameterizedSQL("UPDATE t SET a = :data.total, b = :position WHERE id = :data.order.id AND a <> :data.total")
        #expect(sql.text == "UPDATE t SET a = ?1, b = ?2 WHERE id = ?3 AND a <> ?1")
        #expect(sql.parameterNames == ["data.total", "position", "data.order.id"])
    }

    @Test func colonsInsideLiteralsIdentifiersAndCommentsAreText() throws {
        let source = "SELECT ':no', \"a:b\", `c:d`, [e:f], 'it''s :x' -- :comment\n FROM t /* :block */ WHERE x = :yes;  "
        let sql = try ParameterizedSQL(source)
        #expect(sql.parameterNames == ["yes"])
        #expect(sql.text == "SELECT ':no', \"a:b\", `c:d`, [e:f], 'it''s :x' -- :comment\n FROM t /* :block */ WHERE x = ?1")
    }

    @Test func refusesWhatWouldBindSomethingUnnamed() {
        let cases: [(String, String)] = [
            ("SELECT ?", "'?' parameters are not supported; name every parameter as :name"),
            ("SELECT @a", "'@' parameters are not supported; name every parameter as :name"),
            ("SELECT $a", "'$' parameters are not supported; name every parameter as :name"),
            ("SELECT 1; SELECT 2", "one statement per entry: text follows the ';' (list the statements separately)"),
            ("SELECT 'open", "an unterminated quote (') in the statement"),
            ("SELECT 1 /* open", "an unterminated /* comment in the statement"),
            ("   ", "the statement is empty"),
            ("SELECT : a", "a ':' that does not start a parameter name (write :name)"),
        ]
        for (source, message) in cases {
            #expect(throws: ProjectionDefinitionError(message)) { try ParameterizedSQL(source) }
        }
    }

    @Test func boundsTheTextAndTheParameterCount() {
        var limits = ProjectionLimits()
        limits.maximumStatementBytes = 10
        #expect(throws: ProjectionDefinitionError("the statement is 11 bytes; at most 10 are allowed")) {
            try ParameterizedSQL("SELECT 1234", limits: limits)
        }
        limits = ProjectionLimits()
        limits.maximumParametersPerStatement = 2
        #expect(throws: ProjectionDefinitionError("the statement names more than 2 distinct parameters")) {
            try ParameterizedSQL("SELECT :a, :b, :a, :c", limits: limits)
        }
    }
}
