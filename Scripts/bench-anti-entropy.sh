#!/usr/bin/env bash
# Anti-entropy on a three-node leaderless keyspace (issue 14's figure), release build:
#   1. node 3 is stopped (SIGSTOP) while KEYS keys are written through node 1
#      (redis-benchmark SET, random keys, N=3, W=2); it is resumed and the time
#      until it holds every key itself (DBSIZE, its own replica) is measured;
#   2. node 3 is stopped again while 1% more keys are written, resumed, and the
#      anti-entropy bytes sent by all nodes until it converges are compared
#      with the bytes of all the keys it holds (key + value).
# Read repair is not involved (nothing reads); there are no hints (every node
# is a primary of every key with N=3 on three nodes), so what converges node 3
# is the Merkle exchange alone.
#
# Usage: Scripts/bench-anti-entropy.sh [KEYS=100000]    CHORUS_BENCH_BASE_PORT (default 33000)
set -euo pipefail
keys=${1:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
base=${CHORUS_BENCH_BASE_PORT:-33000}
chorus=$root/.build/release/chorus
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not installed: apt-get install -y redis-tools" >&2; exit 2; }
work=$(mktemp -d /tmp/chorus-bench-ae-XXXXXX)
. "$root/Scripts/chorus-cluster.sh"
cluster_pid=""
cleanup() { pkill -CONT -f "data-dir $work/chorus/n3" 2>/dev/null || true; stop_chorus_cluster; rm -rf "$work"; }
trap cleanup EXIT
start_chorus_cluster "$chorus" "$base" "$work"
for _ in $(seq 1 100); do grep -q "^Redis protocol" "$work/cluster.log" && break; sleep 0.1; done
n1=$((base + 2001)); n3=$((base + 2003))
node3=$(pgrep -f "data-dir $work/chorus/n3" | head -1)
dbsize() { timeout 5 redis-cli -p "$1" DBSIZE || echo 0; }
sent() {  # anti-entropy bytes sent, summed over the nodes
  local total=0 i value
  for i in 1 2 3; do
    value=$(curl -s --max-time 5 "http://127.0.0.1:$((base + 1000 + i))/metrics" | sed -n 's/^chorus_leaderless_anti_entropy_bytes_sent_total \([0-9.e+]*\).*/\1/p')
    total=$(awk -v a="$total" -v b="${value:-0}" 'BEGIN { printf "%.0f", a + b }')
  done
  echo "$total"
}
converge() {  # seconds until node 3 holds $1 keys (bounded by 120 s)
  local start end
  start=$(date +%s.%N)
  for _ in $(seq 1 1200); do [ "$(dbsize $n3)" -ge "$1" ] && break; sleep 0.1; done
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
}
write() {  # $1 requests of SET with random keys out of a large space
  redis-benchmark -p "$n1" -t set -n "$1" -r 1000000000 -c 50 -d 16 -q >/dev/null
}

kill -STOP "$node3"
write "$keys"
held=$(dbsize $n1)
kill -CONT "$node3"
seconds=$(converge "$held")
echo "1. $held keys written with node 3 stopped; node 3 held $(dbsize $n3) of them ${seconds}s after it resumed"

sleep 2  # the first exchange's counters exported
before=$(sent)
kill -STOP "$node3"
write $((keys / 100))
held=$(dbsize $n1)
kill -CONT "$node3"
seconds=$(converge "$held")
sleep 2  # let the exchanges in flight finish
bytes=$(( $(sent) - before ))
key_bytes=$((held * (16 + 16)))  # a 16-byte value and a ~16-byte key ("key:000123456789")
awk -v b="$bytes" -v k="$key_bytes" -v s="$seconds" -v h="$held" 'BEGIN {
  printf "2. 1%% more keys with node 3 stopped: converged in %ss; anti-entropy sent %d bytes = %.1f%% of the %d keys'"'"' bytes (%d)\n", s, b, 100 * b / k, h, k }'
