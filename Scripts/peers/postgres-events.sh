#!/usr/bin/env bash
# PostgreSQL 15 as an event store, the peer of Chorus's event store (issue 10).
#
# Usage: Scripts/peers/postgres-events.sh [CLIENTS...]        (default: 1 64)
#   PG_EVENTS_SECONDS  (default 20)    duration of each pgbench run
#   PG_EVENTS_STREAMS  (default 1000)  streams the appends are spread over, uniformly at random
#   PG_EVENTS_TRIES    (default 10)    attempts per append before it counts as failed
#
# One table of events, unique on (stream, revision), with a global position
# from an identity column ($all). Each pgbench transaction is one
# expected-version append, as an event-store client does it: read the stream's
# current revision, then append one event at revision + 1 (append_event below,
# one autocommit statement, fsynced: fsync=on, synchronous_commit=on). When
# another client got there first, the append finds the (stream, revision) taken
# and fails with wrong-expected-version, which the function raises as
# SQLSTATE 40001 so that pgbench's own retry (--max-tries) re-runs the whole
# transaction (pgbench restores its variables and random state, so the same
# stream): re-read, re-append, like a client retrying on
# wrong_expected_version. Retries are counted and reported; the latency of an
# append includes its retries; an append that still conflicts after
# PG_EVENTS_TRIES attempts is reported as failed.
#
# Prints one line per client count:
#   peer=postgres workload=events clients=N tps=… latency_ms_avg=… p99_ms=… retries=… failed=… events=… streams=… seconds=…
# tps counts successful appends per second; events is the table's row count
# after the run (it must equal the appends pgbench counted, and every stream's
# revisions must run 0, 1, 2… without a gap, or the script fails).
# The server runs on 127.0.0.1 (a free port) from a temporary data directory,
# stopped and removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/postgres-server.sh"
seconds=${PG_EVENTS_SECONDS:-20}
streams=${PG_EVENTS_STREAMS:-1000}
tries=${PG_EVENTS_TRIES:-10}
[ $# -gt 0 ] || set -- 1 64

work=$(mktemp -d /tmp/chorus-peer-postgres-events-XXXXXX)
chmod 755 "$work"
cleanup() { postgres_stop; rm -rf "$work"; }
trap cleanup EXIT
postgres_start "$work/server"

schema() {
  postgres_sql "
DROP TABLE IF EXISTS events;
CREATE TABLE events (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream text NOT NULL,
  revision bigint NOT NULL,
  event_id uuid NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  recorded timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream, revision)
);
CREATE OR REPLACE FUNCTION append_event(p_stream text, p_expected bigint, p_type text, p_data jsonb)
RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE appended bigint;
BEGIN
  INSERT INTO events (stream, revision, event_id, type, data)
  VALUES (p_stream, p_expected + 1, gen_random_uuid(), p_type, p_data)
  ON CONFLICT (stream, revision) DO NOTHING
  RETURNING position INTO appended;
  IF appended IS NULL THEN
    RAISE EXCEPTION 'wrong expected version: stream % is past revision %', p_stream, p_expected
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN appended;
END \$\$;"
}

cat >"$work/append.sql" <<'SQL'
\set stream random(1, :streams)
SELECT coalesce(max(revision), -1) AS current FROM events WHERE stream = 'stream-' || :stream \gset
SELECT append_event('stream-' || :stream, :current, 'bench-event', '{"amount": 1, "note": "0123456789abcdef"}');
SQL

for clients in "$@"; do
  schema
  threads=2; [ "$clients" -lt 2 ] && threads=1
  rm -f "$work"/log.*
  bounded $((seconds + 120)) "$postgres_bin/pgbench" -n -h 127.0.0.1 -p "$postgres_port" -U bench postgres \
    -f "$work/append.sql" -D streams="$streams" -M prepared -c "$clients" -j "$threads" -T "$seconds" \
    --max-tries="$tries" -l --log-prefix="$work/log" >"$work/pgbench.out" 2>"$work/pgbench.err" ||
    { cat "$work/pgbench.err" "$work/pgbench.out" >&2; exit 1; }
  processed=$(pgbench_field processed "$work/pgbench.out")
  rows=$("$postgres_bin/psql" -X -A -t -h 127.0.0.1 -p "$postgres_port" -U bench -d postgres -c "SELECT count(*) FROM events")
  gaps=$("$postgres_bin/psql" -X -A -t -h 127.0.0.1 -p "$postgres_port" -U bench -d postgres -c \
    "SELECT count(*) FROM (SELECT stream FROM events GROUP BY stream HAVING max(revision) + 1 <> count(*)) AS gapped")
  if [ "$rows" != "$processed" ] || [ "$gaps" != 0 ]; then
    echo "postgres-events: pgbench counted $processed appends; the table holds $rows events, $gaps streams with gaps" >&2
    exit 1
  fi
  echo "peer=postgres workload=events clients=$clients tps=$(pgbench_field tps "$work/pgbench.out")" \
    "latency_ms_avg=$(pgbench_field latency "$work/pgbench.out") p99_ms=$(pgbench_p99 "$work/log")" \
    "retries=$(pgbench_field retries "$work/pgbench.out") failed=$(pgbench_field failed "$work/pgbench.out")" \
    "events=$rows streams=$streams seconds=$seconds"
done
