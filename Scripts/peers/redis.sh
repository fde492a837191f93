#!/usr/bin/env bash
# Redis 7 with an append-only file, the peer of Chorus's RESP front end (issue 14).
#
# Usage: Scripts/peers/redis.sh [MODE...]                  (default: always; MODE is always|everysec)
#        Scripts/peers/redis.sh --target HOST:PORT [NAME]   the same load against any RESP server
#   REDIS_BENCH_REQUESTS (default 200000)  requests per operation (redis-benchmark -n: the count bound)
#   REDIS_BENCH_CLIENTS  (default 50)      connections (redis-benchmark -c)
#   REDIS_BENCH_KEYSPACE (default 0)       when > 0, random keys out of this many (-r); 0 is one key, as plain redis-benchmark
#   REDIS_BENCH_VALUE_BYTES (default 3)    value size (-d; 3 is redis-benchmark's default)
#   REDIS_BENCH_SECONDS  (default 300)     the time bound on one redis-benchmark run
#
# For each MODE it starts its own redis-server on 127.0.0.1 (a free port) with
# appendonly yes and appendfsync MODE (no RDB snapshots) in a temporary
# directory, runs `redis-benchmark -t set,get -c 50 -n N --csv`, and stops and
# removes the server on exit. `always` fsyncs the AOF before replying, once
# per event-loop turn (a group commit); `everysec` fsyncs once a second.
# Prints one line per operation:
#   peer=redis mode=always op=set rps=… latency_ms_avg=… p50_ms=… p99_ms=… requests=… clients=…
# With --target the server is not started and the line starts peer=NAME target=HOST:PORT
# (NAME defaults to chorus), so the integrator can load Chorus's RESP port with
# the identical command in the same run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
requests=${REDIS_BENCH_REQUESTS:-200000}
clients=${REDIS_BENCH_CLIENTS:-50}
keyspace=${REDIS_BENCH_KEYSPACE:-0}
value_bytes=${REDIS_BENCH_VALUE_BYTES:-3}
limit_seconds=${REDIS_BENCH_SECONDS:-300}
need_packages redis-benchmark redis-tools
need_packages redis-server redis-server

# bench HOST PORT LABEL: run redis-benchmark and print a line per operation, prefixed by LABEL.
bench() {
  local keys=(); [ "$keyspace" -gt 0 ] && keys=(-r "$keyspace")
  local csv
  csv=$(bounded "$limit_seconds" redis-benchmark -h "$1" -p "$2" -t set,get -c "$clients" -n "$requests" \
    -d "$value_bytes" "${keys[@]}" --csv)
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  awk -F'","' -v label="$3" -v n="$requests" -v c="$clients" 'NR > 1 {
    gsub(/"/, "", $1); gsub(/"/, "", $8)
    printf "%s op=%s rps=%s latency_ms_avg=%s p50_ms=%s p99_ms=%s requests=%s clients=%s\n",
      label, tolower($1), $2, $3, $5, $7, n, c
  }' <<<"$csv"
}

if [ "${1:-}" = --target ]; then
  target=${2:?--target HOST:PORT}
  bench "${target%:*}" "${target##*:}" "peer=${3:-chorus} target=$target"
  exit 0
fi
[ $# -gt 0 ] || set -- always

work=$(mktemp -d /tmp/chorus-peer-redis-XXXXXX)
server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT

for mode in "$@"; do
  case "$mode" in always | everysec) ;; *) echo "unknown mode $mode (always|everysec)" >&2; exit 2 ;; esac
  rm -rf "$work/$mode"; mkdir -p "$work/$mode"
  port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$port" --dir "$work/$mode" --save "" \
    --appendonly yes --appendfsync "$mode" --daemonize no --logfile "$work/$mode/redis.log" &
  server_pid=$!
  for _ in $(seq 1 100); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  [ "$(redis-cli -h 127.0.0.1 -p "$port" config get appendfsync | tail -1)" = "$mode" ] ||
    { echo "redis did not start with appendfsync $mode; see $work/$mode/redis.log" >&2; exit 1; }
  bench 127.0.0.1 "$port" "peer=redis mode=$mode"
  stop_server
done
