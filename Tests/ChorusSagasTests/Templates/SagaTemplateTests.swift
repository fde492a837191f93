import ChorusCore
import ChorusSagas
import Testing

@Suite struct SagaTemplateTests {
    let context = SagaTemplateContext(
        sagaID: "42", stream: "saga-order-42", definitionName: "order",
        input: ["orderId": "42", "amount": 12.5, "express": true, "items": [["sku": "tea/green"]], "customer": ["id": 7]],
        results: ["reserve": ["reservationId": "r-1", "lines": [1, 2]]])

    func parse(_ text: String) throws(SagaTemplateError) -> SagaTemplate { try SagaTemplate(parsing: text) }

    func parseError(_ text: String) -> SagaTemplateError? {
        do {
            _ = try SagaTemplate(parsing: text)
            return nil
        } catch { return error }
    }

    func renderError(_ body: JSONValue) -> SagaTemplateError? {
        do {
            _ = try context.renderBody(body)
            return nil
        } catch { return error }
    }

    @Test func parsesLiteralsReferencesAndEscapes() throws {
        let template = try parse("/orders/{{ input.orderId }}/lines/{{steps.reserve.result.lines.0}}")
        #expect(template.parts.count == 4)
        #expect(template.references.map(\.text) == ["input.orderId", "steps.reserve.result.lines.0"])
        #expect(template.references[1].root == .stepResult("reserve"))
        #expect(template.references[1].path == ["lines", "0"])
        #expect(try parse("{{saga.id}}").soleReference?.root == .sagaID)
        #expect(try parse("{{steps.charge.idempotencyKey}}").soleReference?.root == .stepIdempotencyKey("charge"))
        #expect(try parse("a {{input}} b").soleReference == nil)
        #expect(try parse(#"literal \{{not a reference}} and \x"#).parts == [.literal(#"literal {{not a reference}} and \x"#)])
        #expect(try parse("}} alone").parts == [.literal("}} alone")])
        #expect(try parse("").parts.isEmpty)
    }

    @Test func rejectsBadTemplates() {
        #expect(parseError("x {{input.a") == .syntax("'{{' without a closing '}}'", offset: 2))
        #expect(parseError("{{ {{input}} }}") == .syntax("'{{' inside a reference", offset: 3))
        #expect(parseError("{{}}") == .syntax("empty reference '{{}}'", offset: 2))
        #expect(parseError("{{  }}") == .syntax("empty reference '{{}}'", offset: 2))
        #expect(parseError("{{input..a}}")?.description.contains("segment that is empty") == true)
        #expect(parseError("{{input.a b}}")?.description.contains("not made of letters") == true)
        #expect(parseError("{{env.HOME}}") == .unknownRoot("env"))
        #expect(parseError("{{steps.charge}}")?.description.contains("steps.<step>.result") == true)
        #expect(parseError("{{steps.charge.status}}")?.description.contains("steps.<step>.result") == true)
        #expect(parseError("{{steps.charge.idempotencyKey.x}}")?.description.contains("steps.<step>.result") == true)
        #expect(parseError("{{saga.secret}}")?.description.contains("saga.id") == true)
        #expect(parseError(String(repeating: "a", count: SagaLimits.maximumTemplateBytes + 1)) == .tooLong(byteCount: 4_097, limit: 4_096))
    }

    @Test func aSoleReferenceKeepsItsTypeAndTextInterpolates() throws {
        let body: JSONValue = [
            "order": "{{input.orderId}}", "amount": "{{input.amount}}", "express": "{{input.express}}",
            "customer": "{{input.customer}}", "label": "order {{input.orderId}} of {{input.amount}} ({{input.express}})",
            "reservation": "{{steps.reserve.result}}", "key": "{{steps.reserve.idempotencyKey}}", "nested": ["{{saga.stream}}", 3, nil],
        ]
        #expect(
            try context.renderBody(body)
                == [
                    "order": "42", "amount": 12.5, "express": true, "customer": ["id": 7], "label": "order 42 of 12.5 (true)",
                    "reservation": ["reservationId": "r-1", "lines": [1, 2]], "key": "saga-order-42/reserve",
                    "nested": ["saga-order-42", 3, nil],
                ])
    }

    @Test func renderingReportsMissingValuesAndUninterpolableOnes() {
        #expect(renderError(["x": "{{input.nope}}"]) == .missingValue(reference: "input.nope"))
        #expect(renderError(["x": "{{input.items.3.sku}}"]) == .missingValue(reference: "input.items.3.sku"))
        #expect(renderError(["x": "{{input.orderId.deeper}}"]) == .missingValue(reference: "input.orderId.deeper"))
        #expect(renderError(["x": "{{steps.charge.result.id}}"]) == .missingValue(reference: "steps.charge.result.id"))
        #expect(renderError(["x": "id {{input.customer}}"]) == .cannotInterpolate(reference: "input.customer", type: "object"))
        #expect(
            SagaTemplateError.cannotInterpolate(reference: "input.customer", type: "object").description
                == "'input.customer' is an object and cannot be placed inside text")
    }

    @Test func pathsPercentEncodeInsertedValues() throws {
        let path = try context.renderText(try parse("/v1/items/{{input.items.0.sku}}?x={{input.amount}}"), encoding: .pathComponent)
        #expect(path == "/v1/items/tea%2Fgreen?x=12.5")
        #expect(try context.renderText(try parse("sku:{{input.items.0.sku}}")) == "sku:tea/green")
    }
}
