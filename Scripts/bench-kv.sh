#!/usr/bin/env bash
# Side by side, in one run: etcd 3.4's three-member cluster and Chorus's
# three-node cluster (release build), one at a time on this machine, under the
# same wrk load (../shared/bench/kv-load.sh: 10,000 keys, 16-byte values,
# HTTP/1.1 keep-alive). Prints ops/s, p50 and p99 for writes and linearizable
# reads, the Chorus/etcd ratios, and Chorus's fsyncs per second and average
# entries per fsync (from the leader's /metrics during the write run).
#
# Usage: Scripts/bench-kv.sh [SECONDS=10] [CONNECTIONS=64]
#   CONNECTIONS may be a comma-separated list (e.g. 1,4,64): each count is run
#   against both clusters, and a table per count is printed.
#   CHORUS_BENCH_BASE_PORT (default 27000): Chorus nodes use BASE+i (peers), BASE+1000+i (HTTP).
#   CHORUS_SHARED_BENCH (default ../shared/bench): where etcd-cluster.sh and kv-load.sh live.
# Needs: swift build -c release --product chorus; Debian's etcd-server, etcd-client, wrk.
set -euo pipefail
seconds=${1:-10}
connections=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
bench=${CHORUS_SHARED_BENCH:-$root/../shared/bench}
base=${CHORUS_BENCH_BASE_PORT:-27000}
chorus=$root/.build/release/chorus
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }
[ -x "$bench/kv-load.sh" ] || { echo "missing $bench/kv-load.sh (set CHORUS_SHARED_BENCH)" >&2; exit 2; }
command -v etcd >/dev/null || { echo "etcd not installed: apt-get install -y etcd-server etcd-client" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install -y wrk" >&2; exit 2; }

work=$(mktemp -d /tmp/chorus-bench-XXXXXX)
. "$root/Scripts/chorus-cluster.sh"
cluster_pid=""
cleanup() {
  stop_chorus_cluster
  "$bench/etcd-cluster.sh" stop "$work/etcd" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
metric() { # metric NAME PORT -> value (0 if absent)
  curl -s "http://127.0.0.1:$2/metrics" | awk -v name="$1" '$1 == name {print $2; found=1} END {if (!found) print 0}'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"

IFS=, read -r -a counts <<<"$connections"
declare -A etcd_write etcd_read chorus_write chorus_read fsyncs entries rounds

# etcd 3.4, three members.
etcd_leader=$("$bench/etcd-cluster.sh" start "$work/etcd" | tail -1)
for c in "${counts[@]}"; do
  etcd_write[$c]=$("$bench/kv-load.sh" etcd "$etcd_leader" write "$c" "$seconds")
  etcd_read[$c]=$("$bench/kv-load.sh" etcd "$etcd_leader" read "$c" "$seconds")
done
"$bench/etcd-cluster.sh" stop "$work/etcd"

# Chorus, three nodes.
start_chorus_cluster "$chorus" "$base" "$work"
for c in "${counts[@]}"; do
  fsyncs_before=$(metric chorus_wal_fsyncs_total "$leader_port")
  entries_before=$(metric chorus_entries_persisted_total "$leader_port")
  chorus_write[$c]=$("$bench/kv-load.sh" chorus "http://127.0.0.1:$leader_port" write "$c" "$seconds")
  fsyncs[$c]=$(( $(metric chorus_wal_fsyncs_total "$leader_port") - fsyncs_before ))
  entries[$c]=$(( $(metric chorus_entries_persisted_total "$leader_port") - entries_before ))
  rounds_before=$(metric chorus_read_index_rounds_total "$leader_port")
  chorus_read[$c]=$("$bench/kv-load.sh" chorus "http://127.0.0.1:$leader_port" read "$c" "$seconds")
  rounds[$c]=$(( $(metric chorus_read_index_rounds_total "$leader_port") - rounds_before ))
done
stop_chorus_cluster

echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
for c in "${counts[@]}"; do
  echo
  printf "%-28s %12s %10s %10s %8s\n" "$c connections, ${seconds}s" "ops/s" "p50 ms" "p99 ms" "errors"
  for row in "etcd write:${etcd_write[$c]}" "chorus write:${chorus_write[$c]}" "etcd linearizable read:${etcd_read[$c]}" \
    "chorus linearizable read:${chorus_read[$c]}"; do
    name=${row%%:*}; line=${row#*:}
    printf "%-28s %12s %10s %10s %8s\n" "$name" "$(field ops_per_second "$line")" "$(field p50_ms "$line")" \
      "$(field p99_ms "$line")" "$(field errors "$line")"
  done
  awk -v ew="$(field ops_per_second "${etcd_write[$c]}")" -v cw="$(field ops_per_second "${chorus_write[$c]}")" \
      -v er="$(field ops_per_second "${etcd_read[$c]}")" -v cr="$(field ops_per_second "${chorus_read[$c]}")" \
      -v ewp="$(field p99_ms "${etcd_write[$c]}")" -v cwp="$(field p99_ms "${chorus_write[$c]}")" \
      -v erp="$(field p99_ms "${etcd_read[$c]}")" -v crp="$(field p99_ms "${chorus_read[$c]}")" \
      -v fsyncs="${fsyncs[$c]}" -v entries="${entries[$c]}" -v rounds="${rounds[$c]}" -v s="$seconds" 'BEGIN {
    printf "ratio chorus/etcd   writes %.2fx (p99 %.2fx of etcd)   linearizable reads %.2fx (p99 %.2fx of etcd)\n",
      cw / ew, cwp / ewp, cr / er, crp / erp
    printf "chorus leader during writes: %.0f fsyncs/s, %.1f entries per fsync\n", fsyncs / s, (fsyncs > 0 ? entries / fsyncs : 0)
    r = rounds / s
    printf "chorus leader during reads: %.0f read-index rounds/s, %.1f reads confirmed per round\n", r, (r > 0 ? cr / r : 0)
  }'
done
