#!/usr/bin/env bash
# PostgreSQL 15 as an event store, the peer of Chorus's event store (issue 10).
#
# Usage: Scripts/peers/postgres-events.sh [CLIENTS...]        (default: 1 64)
#   PG_EVENTS_SECONDS  (default 20)       duration of each pgbench run
#   PG_EVENTS_STREAMS  (default clients)  `clients`: each client appends to its own stream (stream-<client_id>);
#                                         N: the appends go to N streams, uniformly at random (contended)
#   PG_EVENTS_TRIES    (default 1 with clients, 10 with N)  attempts per append before it counts as failed
#
# One table of events, unique on (stream, revision), with a global position
# from an identity column ($all). Each pgbench transaction is one
# expected-version append of one event (append_event below: one autocommit
# statement, fsynced: fsync=on, synchronous_commit=on). append_event reads
# the stream's head revision; when it is not the expected one, or when the
# insert at expected + 1 hits the unique (stream, revision) key because a
# concurrent append got there first, the append fails with wrong expected
# version (raised as SQLSTATE 40001, serialization_failure, which pgbench 15
# counts as a failed transaction, or retries with --max-tries).
#
# With PG_EVENTS_STREAMS=clients (the figure of bench-events.sh), each client
# keeps its stream's revision itself, as an event-store client does: it starts
# at -1 (no stream) and each append passes the revision the previous one
# returned as the expected revision, one round trip per append. No two clients
# share a stream, so no append conflicts, and any that did would be counted
# in failed=, never hidden (one try). Chorus's side (bench-events.lua) does the
# same with an exact expectedRevision per stream.
# With PG_EVENTS_STREAMS=N the client first reads the head revision of a random
# stream, then appends with it as the expected revision; a conflict makes
# pgbench re-run the whole transaction (it restores its variables and random
# state, so the same stream: re-read, re-append, like a client retrying on
# wrong_expected_version). Retries are counted and reported; the latency of an
# append includes its retries.
#
# The event is the same as Chorus's side: type bench-event, data
# {"amount":1,"note":"0123456789abcdef"} (38 bytes of JSON), a fresh UUID.
# Prints one line per client count:
#   peer=postgres workload=events clients=N tps=… latency_ms_avg=… p50_ms=… p99_ms=… retries=… failed=… events=… streams=… seconds=…
# tps counts successful appends per second; p50/p99 come from pgbench's
# per-transaction log; events is the table's row count after the run (it must
# equal the appends pgbench counted, and every stream's revisions must run
# 0, 1, 2… without a gap, or the script fails).
# The server runs on 127.0.0.1 (a free port) from a temporary data directory,
# stopped and removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/postgres-server.sh"
seconds=${PG_EVENTS_SECONDS:-20}
streams=${PG_EVENTS_STREAMS:-clients}
if [ "$streams" = clients ]; then tries=${PG_EVENTS_TRIES:-1}; else tries=${PG_EVENTS_TRIES:-10}; fi
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
-- Appends one event at p_expected + 1 if the stream's head is p_expected (-1: no stream); returns its revision.
CREATE OR REPLACE FUNCTION append_event(p_stream text, p_expected bigint, p_type text, p_data jsonb)
RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE head bigint; appended bigint;
BEGIN
  SELECT coalesce(max(revision), -1) INTO head FROM events WHERE stream = p_stream;
  IF head = p_expected THEN
    INSERT INTO events (stream, revision, event_id, type, data)
    VALUES (p_stream, p_expected + 1, gen_random_uuid(), p_type, p_data)
    ON CONFLICT (stream, revision) DO NOTHING
    RETURNING position INTO appended;
  END IF;
  IF appended IS NULL THEN
    RAISE EXCEPTION 'wrong expected version: stream % expected at revision %, is at %', p_stream, p_expected, head
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN p_expected + 1;
END \$\$;"
}

if [ "$streams" = clients ]; then
  cat >"$work/append.sql" <<'SQL'
SELECT append_event('stream-' || :client_id, :revision, 'bench-event', '{"amount":1,"note":"0123456789abcdef"}') AS revision \gset
SQL
  defines=(-D revision=-1)
else
  cat >"$work/append.sql" <<'SQL'
\set stream random(1, :streams)
SELECT coalesce(max(revision), -1) AS current FROM events WHERE stream = 'stream-' || :stream \gset
SELECT append_event('stream-' || :stream, :current, 'bench-event', '{"amount":1,"note":"0123456789abcdef"}');
SQL
  defines=(-D streams="$streams")
fi

for clients in "$@"; do
  schema
  threads=2; [ "$clients" -lt 2 ] && threads=1
  rm -f "$work"/log.*
  bounded $((seconds + 120)) "$postgres_bin/pgbench" -n -h 127.0.0.1 -p "$postgres_port" -U bench postgres \
    -f "$work/append.sql" "${defines[@]}" -M prepared -c "$clients" -j "$threads" -T "$seconds" \
    --max-tries="$tries" -l --log-prefix="$work/log" >"$work/pgbench.out" 2>"$work/pgbench.err" ||
    { cat "$work/pgbench.err" "$work/pgbench.out" >&2; exit 1; }
  if grep -q "aborted" "$work/pgbench.out" "$work/pgbench.err"; then
    cat "$work/pgbench.err" >&2; echo "postgres-events: a client aborted" >&2; exit 1
  fi
  processed=$(pgbench_field processed "$work/pgbench.out")
  retries=$(pgbench_field retries "$work/pgbench.out") # printed by pgbench only when --max-tries > 1
  rows=$(postgres_value "SELECT count(*) FROM events")
  used=$(postgres_value "SELECT count(DISTINCT stream) FROM events")
  gaps=$(postgres_value \
    "SELECT count(*) FROM (SELECT stream FROM events GROUP BY stream HAVING max(revision) + 1 <> count(*)) AS gapped")
  if [ "$rows" != "$processed" ] || [ "$gaps" != 0 ]; then
    echo "postgres-events: pgbench counted $processed appends; the table holds $rows events, $gaps streams with gaps" >&2
    exit 1
  fi
  echo "peer=postgres workload=events clients=$clients tps=$(pgbench_field tps "$work/pgbench.out")" \
    "latency_ms_avg=$(pgbench_field latency "$work/pgbench.out") p50_ms=$(pgbench_percentile 50 "$work/log")" \
    "p99_ms=$(pgbench_p99 "$work/log") retries=${retries:-0}" \
    "failed=$(pgbench_field failed "$work/pgbench.out") events=$rows streams=$used seconds=$seconds"
done
