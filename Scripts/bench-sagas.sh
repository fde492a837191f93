#!/usr/bin/env bash
# Side by side, in one run: PostgreSQL 15 running the three-step order saga as
# durable state transitions (Scripts/peers/postgres-sagas.sh: five per saga,
# each a saga-row update at its expected version plus an outbox insert, fsync
# on) and Chorus running the same three-step saga on a three-node cluster
# (`chorus bench sagas`: three nodes in one process, Raft over TCP, each with
# its own fsynced log; four decisions per saga, each appended to the saga's
# stream at its expected revision and committed on a majority before any
# effect; the participant answers at once). Both keep SAGAS in flight.
#
# The like-for-like figure is completed sagas per second (the two count
# transitions differently); the ratio printed is Chorus/PostgreSQL of it.
#
# Usage: Scripts/bench-sagas.sh [SECONDS=10] [SAGAS=64]
# Needs: swift build -c release --product chorus; PostgreSQL 15 (see Scripts/peers/postgres.sh).
set -euo pipefail
seconds=${1:-10}
sagas=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
chorus=${CHORUS_BINARY:-$root/.build/release/chorus}
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
postgres=$("$root/Scripts/peers/postgres-sagas.sh" "$seconds" "$sagas" | tail -1)
echo "$postgres"
ours=$("$chorus" bench sagas --seconds "$seconds" --concurrency "$sagas" | tail -1)
echo "$ours"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

pg_sagas=$(field sagas "$postgres")
pg_rate=$(awk -v s="$pg_sagas" -v t="$seconds" 'BEGIN { printf "%.1f", s / t }')
our_rate=$(field sagas_per_second "$ours")
printf '%-34s %12s %14s %12s %12s\n' "$seconds s, $sagas sagas in flight" "sagas/s" "transitions/s" "saga p50 ms" "saga p99 ms"
printf '%-34s %12s %14s %12s %12s\n' "postgres 15 (1 node, 5/saga)" "$pg_rate" "$(field transitions_per_second "$postgres")" "$(field saga_p50_ms "$postgres")" "$(field saga_p99_ms "$postgres")"
printf '%-34s %12s %14s %12s %12s\n' "chorus (3 nodes, 4/saga)" "$our_rate" "$(field transitions_per_second "$ours")" "$(field saga_p50_ms "$ours")" "$(field saga_p99_ms "$ours")"
awk -v a="$our_rate" -v b="$pg_rate" 'BEGIN { if (b > 0) printf "ratio chorus/postgres (sagas/s): %.2fx\n", a / b }'
