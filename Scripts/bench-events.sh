#!/usr/bin/env bash
# Side by side, in one run: PostgreSQL 15 as an event store (one node,
# Scripts/peers/postgres-events.sh) and Chorus's event store on its three-node
# cluster (release build), one at a time on this machine. Both run
# expected-version appends of ONE event per request (the same 38-byte JSON
# event), each client/connection appending to its own stream with that
# stream's exact current revision as the expected one (PostgreSQL: the
# append_event function checks the head and the unique (stream, revision) key
# enforces it; Chorus: X-Chorus-Expected-Revision: N over HTTP/1.1 keep-alive
# with wrk and Scripts/bench-events.lua). Every append is durable before it is
# acknowledged: PostgreSQL with fsync=on and synchronous_commit=on on its one
# node, Chorus fsynced (fdatasync) on a majority of three. Prints, per
# connection count, appends/s, p50 and p99 for each, the conflicts and other
# failures (both should be 0), and the Chorus/PostgreSQL ratios.
#
# Usage: Scripts/bench-events.sh [SECONDS=10] [CONNECTIONS=1,64]
#   CONNECTIONS is a comma-separated list; PostgreSQL runs pgbench with that many clients.
#   CHORUS_BENCH_BASE_PORT (default 27000): Chorus nodes use BASE+i (peers), BASE+1000+i (HTTP).
# Needs: swift build -c release --product chorus; wrk; PostgreSQL 15 (as root the
# peer installs it: apt-get install -y postgresql-15 postgresql-client-15 postgresql-contrib).
set -euo pipefail
seconds=${1:-10}
connections=${2:-1,64}
root=$(cd "$(dirname "$0")/.." && pwd)
base=${CHORUS_BENCH_BASE_PORT:-27000}
chorus=$root/.build/release/chorus
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl not installed: apt-get install -y curl" >&2; exit 2; }

work=$(mktemp -d /tmp/chorus-bench-events-XXXXXX)
. "$root/Scripts/chorus-cluster.sh"
cluster_pid=""
cleanup() {
  stop_chorus_cluster
  rm -rf "$work"
}
trap cleanup EXIT

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
# The next global position of the event store ($all's head), from the leader.
head_position() {
  curl -sf "http://127.0.0.1:$leader_port/v1/all?direction=backwards&from=end&limit=1&include-system=true" |
    sed -n 's/.*"headPosition":\([0-9]*\)}$/\1/p'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
IFS=, read -r -a counts <<<"$connections"
declare -A postgres chorus_line chorus_events

# PostgreSQL 15, one node (the peer runner starts, checks and removes its own server).
while read -r line; do
  c=$(field clients "$line")
  postgres[$c]=$line
done < <(PG_EVENTS_SECONDS=$seconds PG_EVENTS_STREAMS=clients "$root/Scripts/peers/postgres-events.sh" "${counts[@]}")

# Chorus, three nodes.
start_chorus_cluster "$chorus" "$base" "$work"
# One event first, so that $all's head is a position and every run's count is a difference of two.
curl -sf -X POST -H 'Content-Type: application/json' -H 'X-Chorus-Expected-Revision: no_stream' \
  --data '[{"type":"bench-warmup","data":{}}]' "http://127.0.0.1:$leader_port/v1/streams/bench-warmup" >/dev/null ||
  { echo "the warm-up append failed; see $work/cluster.log" >&2; exit 1; }
for c in "${counts[@]}"; do
  threads=2; [ "$c" -lt 2 ] && threads=1
  before=$(head_position)
  out=$(wrk -t"$threads" -c"$c" -d"${seconds}s" --latency -s "$root/Scripts/bench-events.lua" \
    "http://127.0.0.1:$leader_port" -- "c$c" 2>&1) || { echo "$out" >&2; exit 1; }
  sleep 1 # the appends still in flight when wrk stopped
  after=$(head_position)
  chorus_line[$c]=$(grep '^ops_per_second=' <<<"$out") || { echo "$out" >&2; exit 1; }
  chorus_events[$c]=$((after - before))
  appended=$(field appended "${chorus_line[$c]}")
  # wrk stops with up to c requests unanswered: those may have been appended; nothing else may have.
  if [ "${chorus_events[$c]}" -lt "$appended" ] || [ "${chorus_events[$c]}" -gt $((appended + c)) ]; then
    echo "bench-events: wrk counted $appended appends at $c connections; \$all grew by ${chorus_events[$c]}" >&2
    exit 1
  fi
done
stop_chorus_cluster

echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
for c in "${counts[@]}"; do
  pg=${postgres[$c]}; ch=${chorus_line[$c]}
  echo
  printf "%-34s %12s %10s %10s %10s %8s\n" "$c connections, ${seconds}s" "appends/s" "p50 ms" "p99 ms" "conflicts" "other"
  printf "%-34s %12s %10s %10s %10s %8s\n" "postgres 15 (1 node)" "$(printf %.1f "$(field tps "$pg")")" "$(field p50_ms "$pg")" \
    "$(field p99_ms "$pg")" "$(field failed "$pg")" "0"
  printf "%-34s %12s %10s %10s %10s %8s\n" "chorus (3 nodes, majority fsync)" "$(field ops_per_second "$ch")" \
    "$(field p50_ms "$ch")" "$(field p99_ms "$ch")" "$(field conflicts "$ch")" \
    "$(($(field other "$ch") + $(field socket_errors "$ch")))"
  echo "checked: postgres table rows = its appends ($(field events "$pg") in $(field streams "$pg") streams, no gaps);" \
    "chorus \$all grew by ${chorus_events[$c]} for $(field appended "$ch") acknowledged appends in $(field streams "$ch") streams"
  awk -v pr="$(field tps "$pg")" -v cr="$(field ops_per_second "$ch")" -v pp="$(field p99_ms "$pg")" \
    -v cp="$(field p99_ms "$ch")" -v p5="$(field p50_ms "$pg")" -v c5="$(field p50_ms "$ch")" 'BEGIN {
    printf "ratio chorus/postgres   appends %.2fx   p50 %.2fx of postgres   p99 %.2fx of postgres\n", cr / pr, c5 / p5, cp / pp
  }'
done
