#!/usr/bin/env bash
# Chorus's Redis-protocol port against Redis 7, in one run (issue 14): the
# same `redis-benchmark -t set,get -c 50` load (Scripts/peers/redis.sh) on
#   1. redis-server with appendonly yes, appendfsync always (it fsyncs the AOF
#      before replying, once per event-loop turn: a group commit);
#   2. a one-node Chorus cluster (release build): leaderless keyspace N=1, W=1,
#      every acknowledged write fsynced (the same work as Redis's);
#   3. a three-node Chorus cluster on this same machine: N=3, W=2, and every
#      acknowledged write fsynced on two replicas (dw = W, the service's
#      default), so three processes do three times Redis's work.
# Prints each run's lines and the ratios to Redis `always` (targets: 0.8x for
# one node, 0.3x for three).
#
# Usage: Scripts/bench-resp.sh            REDIS_BENCH_REQUESTS (default 100000), REDIS_BENCH_CLIENTS (50)
#   CHORUS_BENCH_BASE_PORT (default 29000)
# Needs: swift build -c release --product chorus; Debian's redis-server and redis-tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export REDIS_BENCH_REQUESTS=${REDIS_BENCH_REQUESTS:-100000}
base=${CHORUS_BENCH_BASE_PORT:-29000}
chorus=$root/.build/release/chorus
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }
work=$(mktemp -d /tmp/chorus-bench-resp-XXXXXX)
. "$root/Scripts/chorus-cluster.sh"
cluster_pid=""
cleanup() { stop_chorus_cluster; rm -rf "$work"; }
trap cleanup EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
redis=$("$root/Scripts/peers/redis.sh" always)
echo "$redis"
results=()
for nodes in 1 3; do
  rm -rf "$work/chorus"
  CHORUS_CLUSTER_NODES=$nodes start_chorus_cluster "$chorus" "$base" "$work"
  # `cluster up` creates the leaderless keyspace of database 0 after the election.
  for _ in $(seq 1 100); do grep -q "^Redis protocol" "$work/cluster.log" && break; sleep 0.1; done
  grep -q "^Redis protocol" "$work/cluster.log" || { echo "no leaderless keyspace; see $work/cluster.log" >&2; cat "$work/cluster.log" >&2; exit 1; }
  line=$("$root/Scripts/peers/redis.sh" --target "127.0.0.1:$((base + 2001))" "chorus-${nodes}node")
  echo "$line"
  results+=("$line")
  stop_chorus_cluster
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
rps() { sed -n "s/.*op=$2 rps=\([^ ]*\).*/\1/p" <<<"$1"; }
for op in set get; do
  r=$(rps "$redis" "$op")
  for i in 0 1; do
    c=$(rps "${results[$i]}" "$op")
    label=$([ "$i" = 0 ] && echo "1 node (N=1, W=1)" || echo "3 nodes (N=3, W=2, dw=2)")
    awk -v c="$c" -v r="$r" -v op="$op" -v label="$label" 'BEGIN { if (r > 0) printf "%s %s: Chorus %.0f/s vs Redis always %.0f/s = %.2fx\n", op, label, c, r, c / r }'
  done
done
