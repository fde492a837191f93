import ChorusAPI
import ChorusCore
import NIOCore
import NIOHTTP1

/// The key-value calls: `PUT`, `GET` and `DELETE /v1/kv/{key}` (openapi.yaml).
extension ChorusClient {
    /// Writes `value`; with `expectedVersion` only if the key's version is that
    /// (0: only if absent). Returns the new version.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8], expectedVersion: UInt64? = nil) async throws(ChorusClientError) -> UInt64 {
        var headers = HTTPHeaders()
        if let expectedVersion {
            if expectedVersion == 0 {
                headers.add(name: StandardHeader.ifNoneMatch, value: "*")
            } else {
                headers.add(name: StandardHeader.ifMatch, value: "\"\(expectedVersion)\"")
            }
        }
        let response = try await write(.PUT, key: key, headers: headers, body: value)
        guard let version = response.unsignedInteger(ChorusHeader.version) else {
            throw .unexpectedResponse(status: response.status, body: "a write answer without \(ChorusHeader.version)")
        }
        return version
    }

    /// Deletes `key`; returns whether it existed.
    @discardableResult
    public func delete(_ key: String) async throws(ChorusClientError) -> Bool {
        let response = try await write(.DELETE, key: key, headers: HTTPHeaders(), body: nil)
        guard let deleted = (try? JSONValue(parsing: response.body))?["deleted"]?.boolValue else {
            throw .unexpectedResponse(status: response.status, body: response.bodyExcerpt)
        }
        return deleted
    }

    /// Reads `key`, or nil if absent, at `consistency` (nil: the keyspace's
    /// default). The session token goes with it; `sequential` and `session`
    /// reads also send the highest index seen (or `minimumIndexOverride`) as
    /// `X-Chorus-Min-Index`.
    public func get(
        _ key: String, consistency: ConsistencyLevel? = nil, maximumVersions: UInt64? = nil,
        maximumLagMilliseconds: UInt64? = nil, minimumIndexOverride: UInt64? = nil
    ) async throws(ChorusClientError) -> VersionedValue? {
        var headers = HTTPHeaders()
        if consistency == .sequential || consistency == .session || minimumIndexOverride != nil {
            headers.add(name: ChorusHeader.minimumIndex, value: String(minimumIndexOverride ?? sessionIndex))
        }
        var query: [String] = []
        if let consistency { query.append("consistency=\(consistency.rawValue)") }
        if let maximumVersions { query.append("max-versions=\(maximumVersions)") }
        if let maximumLagMilliseconds { query.append("max-lag=\(maximumLagMilliseconds)") }
        let call = Call(
            method: .GET, path: "/v1/kv/\(Self.encodePathSegment(key))" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")),
            headers: headers, body: nil, isWrite: false)
        let response = try await perform(call, deadline: operationDeadline()) { response in
            if response.status == 200 { return .finish }
            if response.status == 404, response.problem?.code == .keyNotFound { return .finish }
            return Self.decideError(response, isWrite: false)
        }
        if response.status == 404 { return nil }
        guard let version = response.unsignedInteger(ChorusHeader.version) else {
            throw .unexpectedResponse(status: response.status, body: "a value without \(ChorusHeader.version)")
        }
        return VersionedValue(value: response.body, version: version)
    }

    // MARK: Writes with sessions

    /// A write under an idempotency session taken from the pool for this call
    /// alone. A session the server no longer knows is dropped; if no attempt
    /// could have been applied, the write starts once more under a fresh one.
    private func write(
        _ method: HTTPMethod, key: String, headers: HTTPHeaders, body: [UInt8]?
    ) async throws(ChorusClientError) -> ChorusResponse {
        let deadline = operationDeadline()
        do {
            return try await writeInSession(method, key: key, headers: headers, body: body, deadline: deadline)
        } catch .api(let problem, let status) where problem.code == .sessionExpired {
            do {
                return try await writeInSession(method, key: key, headers: headers, body: body, deadline: deadline)
            } catch .api(let again, _) where again.code == .sessionExpired {
                throw .api(again, status: status)
            }
        }
    }

    private func writeInSession(
        _ method: HTTPMethod, key: String, headers baseHeaders: HTTPHeaders, body: [UInt8]?, deadline: NIODeadline
    ) async throws(ChorusClientError) -> ChorusResponse {
        var session = takeSession()
        let sequence = session.nextSequence
        session.nextSequence += 1
        var headers = baseHeaders
        headers.add(name: ChorusHeader.idempotency, value: "\(session.clientID).\(sequence)")
        let call = Call(method: method, path: "/v1/kv/\(Self.encodePathSegment(key))", headers: headers, body: body, isWrite: true)
        var sessionExpired = false
        do {
            let response = try await perform(call, deadline: deadline) { response in
                if response.status == 200 { return .finish }
                if response.problem?.code == .versionMismatch {
                    return .fail(.versionMismatch(current: response.unsignedInteger(ChorusHeader.currentVersion) ?? 0))
                }
                let decision = Self.decideError(response, isWrite: true)
                if case .sessionExpired = decision { sessionExpired = true }
                return decision
            }
            returnSession(session)
            return response
        } catch {
            // A session the server has forgotten is never used again.
            if !sessionExpired { returnSession(session) }
            throw error
        }
    }

    func operationDeadline() -> NIODeadline {
        .now() + .milliseconds(Int64(configuration.operationTimeoutMilliseconds))
    }
}
