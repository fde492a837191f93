#!/usr/bin/env bash
# The cost of mutual TLS between nodes, in one run: Chorus's three-node
# cluster (release build) under the same wrk write load (../shared/bench/kv-load.sh,
# 10,000 keys, 16-byte values), once with mutual TLS on the peer links (the
# default) and once with --insecure-peers, alternating ROUNDS times. Every
# write is replicated to both followers over the peer links, so write
# throughput is what TLS costs. Prints ops/s, p50 and p99 per round and the
# TLS/plaintext ratio of the summed throughput.
#
# Usage: Scripts/bench-peer-tls.sh [SECONDS=10] [CONNECTIONS=64] [ROUNDS=2]
#   CHORUS_BENCH_BASE_PORT (default 27000); CHORUS_SHARED_BENCH (default ../shared/bench).
# Needs: swift build -c release --product chorus; Debian's wrk.
set -euo pipefail
seconds=${1:-10}
connections=${2:-64}
rounds=${3:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
bench=${CHORUS_SHARED_BENCH:-$root/../shared/bench}
base=${CHORUS_BENCH_BASE_PORT:-27000}
chorus=$root/.build/release/chorus
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }
[ -x "$bench/kv-load.sh" ] || { echo "missing $bench/kv-load.sh (set CHORUS_SHARED_BENCH)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install -y wrk" >&2; exit 2; }

work=$(mktemp -d /tmp/chorus-bench-tls-XXXXXX)
. "$root/Scripts/chorus-cluster.sh"
cluster_pid=""
cleanup() {
  stop_chorus_cluster
  rm -rf "$work"
}
trap cleanup EXIT
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
printf "%-30s %12s %10s %10s %8s\n" "$connections connections, ${seconds}s" "ops/s" "p50 ms" "p99 ms" "errors"
tls_total=0
plain_total=0
for round in $(seq 1 "$rounds"); do
  for mode in tls plaintext; do
    rm -rf "$work/chorus"
    if [ "$mode" = tls ]; then CHORUS_CLUSTER_FLAGS=""; else CHORUS_CLUSTER_FLAGS="--insecure-peers"; fi
    start_chorus_cluster "$chorus" "$base" "$work"
    line=$("$bench/kv-load.sh" chorus "http://127.0.0.1:$leader_port" write "$connections" "$seconds")
    stop_chorus_cluster
    ops=$(field ops_per_second "$line")
    printf "%-30s %12s %10s %10s %8s\n" "round $round, write, $mode" "$ops" "$(field p50_ms "$line")" \
      "$(field p99_ms "$line")" "$(field errors "$line")"
    if [ "$mode" = tls ]; then tls_total=$(awk -v a="$tls_total" -v b="$ops" 'BEGIN {print a + b}')
    else plain_total=$(awk -v a="$plain_total" -v b="$ops" 'BEGIN {print a + b}'); fi
  done
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v t="$tls_total" -v p="$plain_total" 'BEGIN { if (p > 0) printf "mutual TLS / plaintext write throughput: %.2fx\n", t / p }'
