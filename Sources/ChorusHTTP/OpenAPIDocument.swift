/// The OpenAPI document served at `GET /openapi.yaml`. Its source of truth is
/// `Sources/ChorusHTTP/openapi.yaml`; `ConfigurationTests` fails when the two
/// differ (regenerate this literal from the file).
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.0.3
info:
  title: Chorus node HTTP API
  version: "1"
  description: |
    Every node of a Chorus cluster serves this API. Keys are path segments
    (percent-encode anything outside unreserved characters, including "/").
    Values are raw bytes. A key's version is the log index of the write that
    produced its value; version 0 means absent.

    Writes go to the leader: a follower answers 307 Temporary Redirect with the
    same path on the leader's URL (Location header), or 503 no_leader while no
    leader is known. Linearizable reads are served by any node (a follower asks
    the leader for a read index, then waits until it has applied that far).
    Sequential reads are served from the node's own applied state, never older
    than X-Chorus-Min-Index.

    Every error is JSON: {"error": {"code": "...", "message": "..."}}.
    Every key-value response carries X-Chorus-Index, the node's applied index:
    send the largest one seen as X-Chorus-Min-Index on sequential reads to get
    monotonic reads and read-your-writes within a session.

    Idempotent writes: send X-Chorus-Client-ID (a positive integer naming the
    client's session) and X-Chorus-Sequence (1, 2, 3, ... per request); a
    retried request with the same pair is applied at most once and answers
    with the first outcome.
servers:
  - url: http://127.0.0.1:8001
paths:
  /v1/kv/{key}:
    parameters:
      - $ref: "#/components/parameters/Key"
    put:
      summary: Write a value (or compare-and-set it by version)
      description: |
        Without conditions the value is written unconditionally. With
        If-Match: "<version>" it is written only if the key's version is still
        <version> (compare-and-set); with If-None-Match: * only if the key is
        absent. A failed condition answers 412 version_mismatch with the
        current version in X-Chorus-Current-Version.
      parameters:
        - name: If-Match
          in: header
          schema: { type: string, example: '"42"' }
        - name: If-None-Match
          in: header
          schema: { type: string, enum: ["*"] }
        - $ref: "#/components/parameters/ClientID"
        - $ref: "#/components/parameters/Sequence"
      requestBody:
        required: true
        content:
          application/octet-stream:
            schema: { type: string, format: binary, maxLength: 1048576 }
      responses:
        "200":
          description: Written and applied.
          headers:
            ETag: { schema: { type: string }, description: The new version, quoted. }
            X-Chorus-Version: { schema: { type: integer } }
            X-Chorus-Index: { $ref: "#/components/headers/Index" }
          content:
            application/json:
              schema:
                type: object
                required: [version, index]
                properties:
                  version: { type: integer, description: The key's new version (= index). }
                  index: { type: integer, description: The log index of this write. }
        "307": { $ref: "#/components/responses/NotLeader" }
        "400": { $ref: "#/components/responses/BadRequest" }
        "409": { $ref: "#/components/responses/SessionExpired" }
        "411": { $ref: "#/components/responses/Error" }
        "412":
          description: The If-Match / If-None-Match condition does not hold (code version_mismatch).
          headers:
            X-Chorus-Current-Version: { schema: { type: integer }, description: 0 if the key is absent. }
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Error" }
        "413": { $ref: "#/components/responses/Error" }
        "503": { $ref: "#/components/responses/Unavailable" }
        "504": { $ref: "#/components/responses/OutcomeUnknown" }
    get:
      summary: Read a value
      parameters:
        - name: consistency
          in: query
          schema: { type: string, enum: [linearizable, sequential], default: linearizable }
        - name: X-Chorus-Min-Index
          in: header
          description: For sequential reads, the oldest applied index the answer may come from (the session's largest X-Chorus-Index). The node waits up to one second, then answers 503 not_caught_up.
          schema: { type: integer, minimum: 0 }
      responses:
        "200":
          description: The value, as raw bytes.
          headers:
            ETag: { schema: { type: string } }
            X-Chorus-Version: { schema: { type: integer } }
            X-Chorus-Index: { $ref: "#/components/headers/Index" }
          content:
            application/octet-stream:
              schema: { type: string, format: binary }
        "400": { $ref: "#/components/responses/BadRequest" }
        "404":
          description: No value for this key (code key_not_found).
          headers:
            X-Chorus-Index: { $ref: "#/components/headers/Index" }
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Error" }
        "503": { $ref: "#/components/responses/Unavailable" }
    delete:
      summary: Delete a key
      parameters:
        - $ref: "#/components/parameters/ClientID"
        - $ref: "#/components/parameters/Sequence"
      responses:
        "200":
          description: Applied (deleted tells whether there was a value).
          headers:
            X-Chorus-Index: { $ref: "#/components/headers/Index" }
          content:
            application/json:
              schema:
                type: object
                required: [deleted, index]
                properties:
                  deleted: { type: boolean }
                  index: { type: integer }
        "307": { $ref: "#/components/responses/NotLeader" }
        "400": { $ref: "#/components/responses/BadRequest" }
        "409": { $ref: "#/components/responses/SessionExpired" }
        "503": { $ref: "#/components/responses/Unavailable" }
        "504": { $ref: "#/components/responses/OutcomeUnknown" }
  /v1/cluster:
    get:
      summary: Cluster status as this node sees it
      responses:
        "200":
          description: Members, leader, term, commit and applied index, and (on the leader) each follower's match index.
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Cluster" }
  /healthz:
    get:
      summary: Liveness
      responses:
        "200":
          description: The node runs.
          content:
            application/json:
              schema:
                type: object
                properties:
                  status: { type: string, enum: [ok] }
                  node: { type: integer }
                  role: { type: string }
                  leader: { type: integer }
                  term: { type: integer }
        "503": { $ref: "#/components/responses/Error" }
  /metrics:
    get:
      summary: Prometheus metrics (text exposition format 0.0.4)
      responses:
        "200":
          description: "Counters, gauges and histograms: chorus_proposals_total, chorus_committed_entries_total, chorus_wal_fsyncs_total, chorus_wal_fsync_duration_seconds, chorus_wal_records_per_fsync, chorus_entries_per_ready, chorus_proposal_batch_size, chorus_elections_won_total, chorus_leader_changes_total, chorus_read_index_requests_total, chorus_read_index_batch_size, chorus_applied_index, ..."
          content:
            text/plain: { schema: { type: string } }
  /openapi.yaml:
    get:
      summary: This document
      responses:
        "200":
          description: The OpenAPI document.
          content:
            application/yaml: { schema: { type: string } }
components:
  parameters:
    Key:
      name: key
      in: path
      required: true
      description: 1 to 1024 bytes of UTF-8 after percent-decoding.
      schema: { type: string }
    ClientID:
      name: X-Chorus-Client-ID
      in: header
      description: Idempotency session id (positive integer); send with X-Chorus-Sequence.
      schema: { type: integer, minimum: 1 }
    Sequence:
      name: X-Chorus-Sequence
      in: header
      description: This request's number in the session (1, 2, 3, ...); a retry repeats it.
      schema: { type: integer, minimum: 1 }
  headers:
    Index:
      description: The answering node's applied index (a session token for sequential reads).
      schema: { type: integer }
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code:
              type: string
              enum: [bad_request, invalid_key, invalid_header, invalid_consistency, key_not_found, not_found,
                     method_not_allowed, length_required, payload_too_large, version_mismatch, session_expired,
                     rejected, not_leader, no_leader, overloaded, proposal_lost, read_timeout, not_caught_up,
                     outcome_unknown, stopped, internal]
            message: { type: string }
    Cluster:
      type: object
      properties:
        node: { type: integer }
        role: { type: string, enum: [follower, pre-candidate, candidate, leader] }
        term: { type: integer }
        leader: { type: integer, description: 0 if no leader is known. }
        leaderURL: { type: string, nullable: true }
        commitIndex: { type: integer }
        appliedIndex: { type: integer }
        lastIndex: { type: integer }
        snapshotIndex: { type: integer }
        keyCount: { type: integer }
        members:
          type: array
          items:
            type: object
            properties:
              id: { type: integer }
              peerAddress: { type: string }
              httpURL: { type: string, nullable: true }
        followers:
          type: array
          items:
            type: object
            properties:
              id: { type: integer }
              matchIndex: { type: integer }
              nextIndex: { type: integer }
              state: { type: string }
        storage:
          type: object
          properties:
            fsyncs: { type: integer }
            acknowledgedRecords: { type: integer }
            recordsPerFsync: { type: number }
            fsyncMillisecondsAverage: { type: number }
  responses:
    Error:
      description: An error.
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    BadRequest:
      description: Malformed key, header, query or body.
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    NotLeader:
      description: This node is a follower; repeat the request at Location (code not_leader).
      headers:
        Location: { schema: { type: string } }
        X-Chorus-Leader: { schema: { type: integer } }
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    SessionExpired:
      description: The idempotency session is unknown (evicted) or the sequence number is older than the session's latest (code session_expired). Nothing was applied.
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    Unavailable:
      description: "Retry (see Retry-After): no_leader, overloaded, proposal_lost (the write was definitely not applied), read_timeout, not_caught_up, stopped."
      headers:
        Retry-After: { schema: { type: integer } }
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }
    OutcomeUnknown:
      description: The write was proposed but not seen applied in time (code outcome_unknown); it may or may not take effect. Retry with the same X-Chorus-Client-ID and X-Chorus-Sequence to learn its outcome.
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Error" }

"""#
}
