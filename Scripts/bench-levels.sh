#!/usr/bin/env bash
# Read throughput per consistency level on Chorus's three-node cluster
# (release build, fsync on), in one run, as a ratio to linearizable:
# 10,000 keys with 16-byte values, wrk over HTTP/1.1 keep-alive, the same
# CONNECTIONS spread over all three nodes (each node serves reads at every
# level: linearizable ones through a ReadIndex confirmed by the leader).
# The bounded-staleness rows run under a steady write load on the leader
# (8 connections), as does a linearizable baseline beside them.
#
# Usage: Scripts/bench-levels.sh [SECONDS=10] [CONNECTIONS=64]
#   CHORUS_BENCH_BASE_PORT (default 28000)
# Needs: swift build -c release --product chorus; Debian's wrk.
set -euo pipefail
seconds=${1:-10}
connections=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
base=${CHORUS_BENCH_BASE_PORT:-28000}
chorus=$root/.build/release/chorus
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install -y wrk" >&2; exit 2; }

work=$(mktemp -d /tmp/chorus-levels-XXXXXX)
. "$root/Scripts/chorus-cluster.sh"
cluster_pid=""
cleanup() {
  jobs -p | xargs -r kill 2>/dev/null || true
  stop_chorus_cluster
  rm -rf "$work"
}
trap cleanup EXIT

# wrk script: reads (or writes) of key0000..key9999 at one level; one wrk
# process runs per node, since a wrk process drives a single URL.
lua() { # lua FILE OP QUERY
  cat >"$1" <<LUA
local n = 0
request = function()
  n = n + 1
  local k = string.format("%04d", (n * 7919) % 10000)
  if "$2" == "write" then
    return wrk.format("PUT", "/v1/kv/key" .. k, {["Content-Type"]="application/octet-stream"}, "value-0123456789")
  end
  return wrk.format("GET", "/v1/kv/key" .. k .. "?$3", {})
end
LUA
}
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.3f", v}'; }

start_chorus_cluster "$chorus" "$base" "$work"
lua "$work/write.lua" write ""
wrk -t1 -c16 -d3s -s "$work/write.lua" "http://127.0.0.1:$leader_port" >/dev/null

per_node=$(( (connections + 2) / 3 ))
# run QUERY WITH_WRITES -> "ops p50 p99 errors" summed over the three nodes (p50/p99: the worst node)
run() {
  lua "$work/read.lua" read "$1"
  local writer=""
  if [ "$2" = yes ]; then
    wrk -t1 -c8 -d"$((seconds + 1))s" -s "$work/write.lua" "http://127.0.0.1:$leader_port" >/dev/null 2>&1 &
    writer=$!
    sleep 0.5
  fi
  local readers=()
  for i in 1 2 3; do
    wrk -t1 -c"$per_node" -d"${seconds}s" --latency -s "$work/read.lua" "http://127.0.0.1:$((base + 1000 + i))" >"$work/out.$i" 2>&1 &
    readers+=($!)
  done
  wait "${readers[@]}" || true
  if [ -n "$writer" ]; then wait "$writer" || true; fi
  local ops=0 p50=0 p99=0 errors=0
  for i in 1 2 3; do
    local out; out=$(cat "$work/out.$i")
    local o; o=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    local a; a=$(awk '$1=="50%" {print $2}' <<<"$out" | to_ms)
    local b; b=$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)
    local e; e=$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")
    ops=$(awk -v x="$ops" -v y="${o:-0}" 'BEGIN {print x + y}')
    p50=$(awk -v x="$p50" -v y="${a:-0}" 'BEGIN {print (y > x ? y : x)}')
    p99=$(awk -v x="$p99" -v y="${b:-0}" 'BEGIN {print (y > x ? y : x)}')
    errors=$((errors + ${e:-0}))
  done
  echo "$ops $p50 $p99 $errors"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores); $connections connections over 3 nodes, ${seconds}s per row"
printf "%-44s %10s %9s %9s %7s %8s\n" "level" "reads/s" "p50 ms" "p99 ms" "errors" "ratio"
baseline=""
for row in \
  "linearizable|consistency=linearizable|no" \
  "sequential|consistency=sequential|no" \
  "session|consistency=session|no" \
  "consistent-prefix|consistency=consistent-prefix|no" \
  "eventual|consistency=eventual|no" \
  "linearizable, under writes|consistency=linearizable|yes" \
  "bounded-staleness K=10, under writes|consistency=bounded-staleness&max-versions=10|yes" \
  "bounded-staleness T=100 ms, under writes|consistency=bounded-staleness&max-lag=100|yes"; do
  IFS='|' read -r name query writes <<<"$row"
  read -r ops p50 p99 errors <<<"$(run "$query" "$writes")"
  case "$name" in
    "linearizable") baseline=$ops ;;
    "linearizable, under writes") baseline=$ops ;;
  esac
  printf "%-44s %10.0f %9s %9s %7s %7.2fx\n" "$name" "$ops" "$p50" "$p99" "$errors" "$(awk -v a="$ops" -v b="$baseline" 'BEGIN {print a / b}')"
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
