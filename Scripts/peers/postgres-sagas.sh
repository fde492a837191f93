#!/usr/bin/env bash
# PostgreSQL 15 running sagas as state transitions, the peer of Chorus's sagas (issue 12).
#
# Usage: Scripts/peers/postgres-sagas.sh [SECONDS=10] [CLIENTS=64]
#
# The saga is the order saga of the payment story, three steps: reserve ->
# charge -> ship. Its life is FIVE state transitions, each one durable
# transaction of one statement (fsync=on, synchronous_commit=on), each moving
# the saga row and writing exactly one outbox row (the next command or event),
# atomically (a data-modifying WITH):
#   1 start:          INSERT the saga row (state reserving, version 0)       + outbox "reserve"
#   2 reserve done:   UPDATE … SET state charging,  version = version + 1
#                     WHERE id = saga AND version = 0                        + outbox "charge"
#   3 charge done:    … state shipping,   WHERE version = 1                  + outbox "ship"
#   4 ship done:      … state completing, WHERE version = 2                  + outbox "shipped"
#   5 completion:     … state completed,  WHERE version = 3                  + outbox "completed"
# (1 insert + 4 expected-version updates.) An update whose expected version
# does not match moves nothing and writes no outbox row, and the script's
# \gset then finds no row and aborts the client, which fails the run.
#
# Each pgbench transaction is one transition; a client runs its sagas one
# after the other, five transitions each (its variables carry the saga id, the
# version and the step from one transaction to the next), so CLIENTS is the
# number of sagas in flight at once (64: issue 12's figure). pgbench's
# per-transaction log thus times every transition, and five consecutive
# entries of a client are one saga's life.
#
# Prints ONE line:
#   postgres sagas clients=C seconds=S sagas=… transitions=… transitions_per_saga=5 transitions_per_second=…
#     p50_ms=… p99_ms=… saga_p50_ms=… saga_p99_ms=… unfinished=… failed=…
# sagas: sagas completed (state completed, version 4); transitions: committed
# transitions, counted in the tables (sum of version + 1 over the saga rows),
# which must equal both the transactions pgbench counted and the outbox's row
# count, and every saga must have exactly version + 1 outbox rows, or the
# script fails; transitions_per_second: pgbench's rate (without connection
# time); p50_ms/p99_ms: one transition's latency; saga_p50_ms/saga_p99_ms: a
# completed saga's, from its first transition's start to its completion's
# commit; unfinished: sagas left mid-way when the time was up (at most C).
# Chorus's comparable figure is durable appends to saga streams per second
# (one decision appended at its expected revision = one transition), not
# events: a decision can append several events at once.
# The server (Scripts/peers/postgres-server.sh) runs on 127.0.0.1 (a free
# port) from a temporary data directory, stopped and removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/postgres-server.sh"
seconds=${1:-10}
clients=${2:-64}

work=$(mktemp -d /tmp/chorus-peer-postgres-sagas-XXXXXX)
chmod 755 "$work"
cleanup() { postgres_stop; rm -rf "$work"; }
trap cleanup EXIT
postgres_start "$work/server"

postgres_sql "
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

# move STATE MESSAGE PAYLOAD: one expected-version transition of the saga :saga at :version.
move() {
  cat <<SQL
WITH moved AS (UPDATE sagas SET state = '$1', version = version + 1, updated = now() WHERE id = :saga AND version = :version RETURNING id, version) INSERT INTO outbox (saga, message, idempotency_key, payload) SELECT id, '$2', id || '-$2', '$3' FROM moved RETURNING (SELECT version FROM moved) AS version \gset
SQL
}
{
  echo '\if :step = 0'
  cat <<'SQL'
WITH started AS (INSERT INTO sagas (definition, state, version, data) VALUES ('order', 'reserving', 0, '{"order":1,"amount":42}') RETURNING id, version) INSERT INTO outbox (saga, message, idempotency_key, payload) SELECT id, 'reserve', id || '-reserve', '{"item":7}' FROM started RETURNING saga AS saga, (SELECT version FROM started) AS version \gset
SQL
  echo '\elif :step = 1'; move charging charge '{"amount":42}'
  echo '\elif :step = 2'; move shipping ship '{"address":"x"}'
  echo '\elif :step = 3'; move completing shipped '{"carrier":"y"}'
  echo '\else'; move completed completed '{}'
  echo '\endif'
  echo '\set step (:step + 1) % 5'
} >"$work/saga.sql"

threads=2; [ "$clients" -lt 2 ] && threads=1
bounded $((seconds + 120)) "$postgres_bin/pgbench" -n -h 127.0.0.1 -p "$postgres_port" -U bench postgres \
  -f "$work/saga.sql" -D step=0 -M prepared -c "$clients" -j "$threads" -T "$seconds" \
  -l --log-prefix="$work/log" >"$work/pgbench.out" 2>"$work/pgbench.err" ||
  { cat "$work/pgbench.err" "$work/pgbench.out" >&2; exit 1; }
if grep -q "aborted" "$work/pgbench.out" "$work/pgbench.err"; then
  cat "$work/pgbench.err" >&2; echo "postgres-sagas: a client aborted" >&2; exit 1
fi
processed=$(pgbench_field processed "$work/pgbench.out")
failed=$(pgbench_field failed "$work/pgbench.out")
check=$(postgres_value "
  SELECT count(*) FILTER (WHERE state = 'completed' AND version = 4),
         count(*) FILTER (WHERE NOT (state = 'completed' AND version = 4)),
         coalesce(sum(version + 1), 0),
         count(*) FILTER (WHERE coalesce(sent.rows, 0) <> version + 1),
         (SELECT count(*) FROM outbox)
  FROM sagas LEFT JOIN (SELECT saga, count(*) AS rows FROM outbox GROUP BY saga) AS sent ON sent.saga = sagas.id")
IFS='|' read -r completed unfinished transitions mismatched outbox <<<"$check"
if [ "$transitions" != "$processed" ] || [ "$outbox" != "$processed" ] || [ "$mismatched" != 0 ] ||
  [ "$unfinished" -gt "$clients" ] || [ "${failed:-0}" != 0 ]; then
  echo "postgres-sagas: pgbench counted $processed transitions ($failed failed); the tables hold $transitions" \
    "transitions, $outbox outbox rows, $completed completed and $unfinished unfinished sagas," \
    "$mismatched sagas with an outbox row count other than version + 1" >&2
  exit 1
fi
# A completed saga's latency: per client, transactions 5k+1 … 5k+5 are one saga (pgbench numbers them from 1);
# columns: client, transaction number, latency µs, script, commit time s, µs.
saga_latencies=$(cat "$work"/log.* | awk '$3 ~ /^[0-9]+$/ {
    end = $5 * 1000000 + $6; step = ($2 - 1) % 5
    if (step == 0) start[$1] = end - $3
    else if (step == 4 && ($1 in start)) print end - start[$1]
  }' | sort -n)
saga_percentile() {
  awk -v p="$1" '{v[NR] = $1} END {
    if (NR == 0) {print "nan"; exit}
    i = int(NR * p / 100); if (i < NR * p / 100) i++; if (i < 1) i = 1
    printf "%.3f", v[i] / 1000
  }' <<<"$saga_latencies"
}
echo "postgres sagas clients=$clients seconds=$seconds sagas=$completed transitions=$transitions transitions_per_saga=5" \
  "transitions_per_second=$(printf %.1f "$(pgbench_field tps "$work/pgbench.out")") p50_ms=$(pgbench_percentile 50 "$work/log")" \
  "p99_ms=$(pgbench_p99 "$work/log") saga_p50_ms=$(saga_percentile 50) saga_p99_ms=$(saga_percentile 99)" \
  "unfinished=$unfinished failed=${failed:-0}"
