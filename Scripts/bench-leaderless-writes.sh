#!/usr/bin/env bash
# Leaderless w=1 writes against the Raft keyspace's writes, on the same
# three-node cluster, in one run (release build): the same wrk load (HTTP/1.1
# keep-alive, 10,000 keys, 16-byte values) against
#   - the Raft `default` keyspace, on the leader (PUT /v1/kv/KEY: committed by a
#     majority, fsynced on two nodes before the answer), and
#   - a leaderless keyspace `fast` (N=3, R=W=1), PUT /v1/kv/fast/KEY on the same
#     node: acknowledged once one replica has it fsynced (dw = w = 1), then
#     replicated to the other two in the background,
#   - and the leaderless keyspace with the load spread over all three nodes
#     (each coordinates its share: what leaderless writes are for).
# Prints ops/s, p50, p99 and the ratios.
#
# Usage: Scripts/bench-leaderless-writes.sh [SECONDS=10] [CONNECTIONS=64]
#   CHORUS_BENCH_BASE_PORT (default 27500).
# Needs: swift build -c release --product chorus; Debian's wrk.
set -euo pipefail
seconds=${1:-10}
connections=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
base=${CHORUS_BENCH_BASE_PORT:-27500}
chorus=$root/.build/release/chorus
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install -y wrk" >&2; exit 2; }

work=$(mktemp -d /tmp/chorus-bench-leaderless-XXXXXX)
. "$root/Scripts/chorus-cluster.sh"
cleanup() {
  stop_chorus_cluster
  rm -rf "$work"
}
trap cleanup EXIT

# load URL PATH_PREFIX PATH_SUFFIX CONNECTIONS -> "ops p50 p99 errors"
load() {
  local url=$1 prefix=$2 suffix=$3 conns=$4 lua="$work/load-$RANDOM.lua"
  cat >"$lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local k = string.format("%04d", (n * 7919) % 10000)
  return wrk.format("PUT", "$prefix" .. k .. "$suffix", {["Content-Type"]="application/octet-stream"}, "value-0123456789")
end
LUA
  local out
  out=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency -s "$lua" "$url" 2>&1)
  local ops p50 p99 errors
  ops=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.2f", v}'; }
  p50=$(awk '$1=="50%" {print $2}' <<<"$out" | to_ms)
  p99=$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)
  errors=$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")
  echo "${ops:-0} ${p50:-nan} ${p99:-nan} ${errors:-0}"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
start_chorus_cluster "$chorus" "$base" "$work"
curl -sf -X PUT "http://127.0.0.1:$leader_port/v1/keyspaces/fast" \
  -d '{"replication":"leaderless","replicas":3,"readQuorum":1,"writeQuorum":1}' >/dev/null
leader="http://127.0.0.1:$leader_port"

read -r raft_ops raft_p50 raft_p99 raft_errors <<<"$(load "$leader" /v1/kv/key "" "$connections")"
read -r one_ops one_p50 one_p99 one_errors <<<"$(load "$leader" /v1/kv/fast/key "" "$connections")"
# The same load split over the three nodes (a third of the connections each, at once).
per=$(( (connections + 2) / 3 ))
spreaders=()
for i in 1 2 3; do
  ( load "http://127.0.0.1:$((base + 1000 + i))" "/v1/kv/fast/n$i-key" "" "$per" >"$work/spread-$i" ) &
  spreaders+=($!)
done
wait "${spreaders[@]}"   # not the cluster, which runs in the background too
spread_ops=0; spread_errors=0; spread_p99=0
for i in 1 2 3; do
  read -r ops p50 p99 errors <"$work/spread-$i"
  spread_ops=$(awk -v a="$spread_ops" -v b="$ops" 'BEGIN {printf "%.0f", a + b}')
  spread_errors=$((spread_errors + errors))
  spread_p99=$(awk -v a="$spread_p99" -v b="$p99" 'BEGIN {print (b > a ? b : a)}')
done

printf '%-52s %10s %9s %9s %7s\n' "writes, $connections connections, ${seconds}s each" "ops/s" "p50 ms" "p99 ms" "errors"
printf '%-52s %10.0f %9s %9s %7s\n' "Raft keyspace (majority, fsynced on 2), on the leader" "$raft_ops" "$raft_p50" "$raft_p99" "$raft_errors"
printf '%-52s %10.0f %9s %9s %7s\n' "leaderless w=1 (fsynced on 1), same node" "$one_ops" "$one_p50" "$one_p99" "$one_errors"
printf '%-52s %10.0f %9s %9s %7s\n' "leaderless w=1, spread over the three nodes" "$spread_ops" "-" "$spread_p99" "$spread_errors"
awk -v r="$raft_ops" -v o="$one_ops" -v s="$spread_ops" \
  'BEGIN {printf "leaderless w=1 / Raft: %.2fx on the same node, %.2fx spread over the nodes (target 2x)\n", o / r, s / r}'
