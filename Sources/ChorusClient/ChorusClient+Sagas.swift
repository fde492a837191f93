import ChorusAPI
import ChorusCore
import NIOHTTP1

/// Sagas (`/v1/sagas`): registering definitions and participants, starting,
/// reading and the operator's commands. Answers are the API's JSON (the
/// saga's state, steps, errors, events and timeline, as `openapi.yaml`
/// documents them). Starts are idempotent by saga id, so they are retried
/// like any idempotent write; registrations too.
extension ChorusClient {
    /// Registers a definition (its JSON text); true if it was new.
    @discardableResult
    public func defineSaga(_ definitionJSON: String) async throws(ChorusClientError) -> Bool {
        guard let name = (try? JSONValue(parsing: Array(definitionJSON.utf8)))?["name"]?.stringValue else {
            throw .invalidArgument("a saga definition is a JSON object with a \"name\"")
        }
        let json = try await sagaCall(.PUT, "/v1/sagas/definitions/\(Self.encodePathSegment(name))", body: definitionJSON, isWrite: true, accept: [200, 201])
        return json["created"] == .bool(true)
    }

    /// Registers (or moves) participant `name` at `url` (`http://host:port`); true if it changed.
    @discardableResult
    public func registerSagaParticipant(_ name: String, url: String) async throws(ChorusClientError) -> Bool {
        let body = JSONValue.object(["url": .string(url)]).text
        let json = try await sagaCall(.PUT, "/v1/sagas/participants/\(Self.encodePathSegment(name))", body: body, isWrite: true, accept: [200, 201])
        return json["created"] == .bool(true)
    }

    /// Starts saga `id` of `definition` with `input`; false when it existed (nothing was appended).
    @discardableResult
    public func startSaga(_ definition: String, id: String, input: JSONValue, version: Int? = nil) async throws(ChorusClientError) -> Bool {
        var body: JSONObject = ["definition": .string(definition), "id": .string(id), "input": input]
        if let version { body["version"] = .integer(Int64(version)) }
        let json = try await sagaCall(.POST, "/v1/sagas", body: JSONValue.object(body).text, isWrite: true, accept: [200, 201])
        return json["created"] == .bool(true)
    }

    /// One saga as its stream says (`saga_not_found` as `.api` if it does not exist).
    public func saga(_ definition: String, id: String) async throws(ChorusClientError) -> JSONValue {
        try await sagaCall(.GET, Self.sagaPath(definition, id), body: nil, isWrite: false, accept: [200])
    }

    /// Polls the saga until its state is one of `states` (e.g. the final ones) or `timeoutMilliseconds` pass.
    public func waitForSaga(
        _ definition: String, id: String, states: Set<String> = ["completed", "compensated", "cancelled", "parked"],
        timeoutMilliseconds: Int = 30_000
    ) async throws(ChorusClientError) -> JSONValue {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while true {
            let saga = try await saga(definition, id: id)
            if let state = saga["state"]?.stringValue, states.contains(state) { return saga }
            guard ContinuousClock.now < deadline else { throw .timedOut("saga \(definition)/\(id) is still \(saga["state"]?.stringValue ?? "?")") }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `cancel`, `retry` or `resolve` with its JSON body.
    public func operateSaga(_ definition: String, id: String, _ command: String, body: JSONValue = .object(JSONObject()))
        async throws(ChorusClientError) -> JSONValue
    {
        try await sagaCall(.POST, Self.sagaPath(definition, id) + "/\(command)", body: body.text, isWrite: true, accept: [200])
    }

    static func sagaPath(_ definition: String, _ id: String) -> String {
        "/v1/sagas/\(encodePathSegment(definition))/\(encodePathSegment(id))"
    }

    func sagaCall(_ method: HTTPMethod, _ path: String, body: String?, isWrite: Bool, accept: Set<Int>) async throws(ChorusClientError) -> JSONValue {
        var headers = HTTPHeaders()
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        let call = Call(method: method, path: path, headers: headers, body: body.map { Array($0.utf8) }, isWrite: isWrite)
        let response = try await perform(call, deadline: operationDeadline()) { response in
            accept.contains(response.status) ? .finish : Self.decideError(response, isWrite: isWrite)
        }
        guard let json = try? JSONValue(parsing: response.body) else {
            throw .unexpectedResponse(status: response.status, body: response.bodyExcerpt)
        }
        return json
    }
}
