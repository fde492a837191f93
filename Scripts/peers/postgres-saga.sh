#!/usr/bin/env bash
# PostgreSQL 15 running sagas as state transitions, the peer of Chorus's sagas (issue 12).
#
# Usage: Scripts/peers/postgres-saga.sh [CLIENTS...]          (default: 64)
#   PG_SAGA_SECONDS (default 20)   duration of each pgbench run
#
# One pgbench transaction is one whole three-step saga (reserve -> charge ->
# ship), run by one client, as four durable transactions in a row (fsync=on,
# synchronous_commit=on), each one state transition:
#   start:  INSERT the saga row at version 0 + one outbox insert (the first command);
#   step 1, 2, 3: UPDATE the saga row WHERE id = saga AND version = expected
#           (RETURNING the new version, so an update that matched no row aborts
#           the client and fails the run) + one outbox insert (the next command,
#           or "completed" after step 3).
# CLIENTS is the number of sagas in flight at once (64 by default, issue 12's figure).
#
# Prints one line per client count:
#   peer=postgres workload=saga clients=N transitions_per_second=… sagas_per_second=… transition_latency_ms_avg=… saga_p99_ms=… failed=… unfinished=… seconds=…
# transitions_per_second = 4 × completed sagas per second (start + 3 steps, each
# a committed transaction); transition_latency_ms_avg is a saga's average
# latency / 4; saga_p99_ms is the 99th percentile of a whole saga (four
# commits, from pgbench's per-transaction log). After each run the script
# checks that the completed sagas (state completed, version 3) are exactly the
# ones pgbench counted and that every saga has version + 1 outbox rows, or it
# fails; unfinished counts sagas left mid-way (pgbench -T lets each finish, so 0).
# The server runs on 127.0.0.1 (a free port) from a temporary data directory,
# stopped and removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/postgres-server.sh"
seconds=${PG_SAGA_SECONDS:-20}
[ $# -gt 0 ] || set -- 64

work=$(mktemp -d /tmp/chorus-peer-postgres-saga-XXXXXX)
chmod 755 "$work"
cleanup() { postgres_stop; rm -rf "$work"; }
trap cleanup EXIT
postgres_start "$work/server"

schema() {
  postgres_sql "
DROP TABLE IF EXISTS outbox;
DROP TABLE IF EXISTS sagas;
CREATE TABLE sagas (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  definition text NOT NULL,
  state text NOT NULL,
  version integer NOT NULL,
  data jsonb NOT NULL,
  updated timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  saga bigint NOT NULL REFERENCES sagas (id),
  message text NOT NULL,
  idempotency_key text NOT NULL,
  payload jsonb NOT NULL,
  created timestamptz NOT NULL DEFAULT now()
);"
}

cat >"$work/saga.sql" <<'SQL'
BEGIN;
INSERT INTO sagas (definition, state, version, data) VALUES ('order', 'started', 0, '{"order": 1, "amount": 42}') RETURNING id AS saga, version AS version \gset
INSERT INTO outbox (saga, message, idempotency_key, payload) VALUES (:saga, 'reserve', :saga || '-reserve', '{"item": 7}');
COMMIT;
BEGIN;
UPDATE sagas SET state = 'reserved', version = version + 1, updated = now() WHERE id = :saga AND version = :version RETURNING version AS version \gset
INSERT INTO outbox (saga, message, idempotency_key, payload) VALUES (:saga, 'charge', :saga || '-charge', '{"amount": 42}');
COMMIT;
BEGIN;
UPDATE sagas SET state = 'charged', version = version + 1, updated = now() WHERE id = :saga AND version = :version RETURNING version AS version \gset
INSERT INTO outbox (saga, message, idempotency_key, payload) VALUES (:saga, 'ship', :saga || '-ship', '{"address": "x"}');
COMMIT;
BEGIN;
UPDATE sagas SET state = 'completed', version = version + 1, updated = now() WHERE id = :saga AND version = :version RETURNING version AS version \gset
INSERT INTO outbox (saga, message, idempotency_key, payload) VALUES (:saga, 'completed', :saga || '-completed', '{}');
COMMIT;
SQL

for clients in "$@"; do
  schema
  threads=2; [ "$clients" -lt 2 ] && threads=1
  rm -f "$work"/log.*
  bounded $((seconds + 120)) "$postgres_bin/pgbench" -n -h 127.0.0.1 -p "$postgres_port" -U bench postgres \
    -f "$work/saga.sql" -M prepared -c "$clients" -j "$threads" -T "$seconds" \
    -l --log-prefix="$work/log" >"$work/pgbench.out" 2>"$work/pgbench.err" ||
    { cat "$work/pgbench.err" "$work/pgbench.out" >&2; exit 1; }
  if grep -q "aborted" "$work/pgbench.out" "$work/pgbench.err"; then
    cat "$work/pgbench.err" >&2; echo "postgres-saga: a client aborted" >&2; exit 1
  fi
  processed=$(pgbench_field processed "$work/pgbench.out")
  check=$("$postgres_bin/psql" -X -A -t -h 127.0.0.1 -p "$postgres_port" -U bench -d postgres -c "
    SELECT count(*) FILTER (WHERE state = 'completed' AND version = 3),
           count(*) FILTER (WHERE NOT (state = 'completed' AND version = 3)),
           count(*) FILTER (WHERE outbox_rows <> version + 1)
    FROM sagas, LATERAL (SELECT count(*) AS outbox_rows FROM outbox WHERE outbox.saga = sagas.id) AS sent")
  IFS='|' read -r completed unfinished mismatched <<<"$check"
  if [ "$completed" != "$processed" ] || [ "$mismatched" != 0 ]; then
    echo "postgres-saga: pgbench counted $processed sagas; $completed completed, $unfinished unfinished," \
      "$mismatched with an outbox row count other than version + 1" >&2
    exit 1
  fi
  awk -v c="$clients" -v tps="$(pgbench_field tps "$work/pgbench.out")" -v lat="$(pgbench_field latency "$work/pgbench.out")" \
    -v p99="$(pgbench_p99 "$work/log")" -v failed="$(pgbench_field failed "$work/pgbench.out")" -v s="$seconds" \
    -v unfinished="$unfinished" 'BEGIN {
    printf "peer=postgres workload=saga clients=%s transitions_per_second=%.1f sagas_per_second=%.1f transition_latency_ms_avg=%.3f saga_p99_ms=%s failed=%s unfinished=%s seconds=%s\n",
      c, tps * 4, tps, lat / 4, p99, failed, unfinished, s
  }'
done
