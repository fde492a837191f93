# Start and stop a private PostgreSQL 15 server for the peer runners (sourced).
#   postgres_start WORK   initdb in WORK/data (WORK's parent must be searchable by user postgres), start on 127.0.0.1:$postgres_port (a free port),
#                         fsync=on, synchronous_commit=on, full_page_writes=on (the durable defaults)
#   postgres_stop         stop it (fast shutdown); safe to call twice, from a trap
#   postgres_sql SQL      run SQL as the bench superuser, stop on error
#   pgbench_p99 PREFIX    99th percentile in ms of the per-transaction logs PREFIX.* (pgbench -l)
# Needs common.sh sourced first.

postgres_bin=/usr/lib/postgresql/15/bin
postgres_port=""
postgres_data=""

postgres_start() {
  local work=$1
  need_packages "$postgres_bin/pgbench" postgresql-15 postgresql-client-15
  postgres_data=$work/data
  mkdir -p "$work"
  [ "$(id -u)" = 0 ] && chown postgres "$work"
  run_as_service_user postgres "$postgres_bin/initdb" -D "$postgres_data" -U bench --auth=trust \
    --encoding=UTF8 --locale=C >"$work/initdb.log"
  postgres_port=$(free_port)
  cat >>"$postgres_data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $postgres_port
unix_socket_directories = '$work'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
  run_as_service_user postgres "$postgres_bin/pg_ctl" -D "$postgres_data" -l "$work/postgres.log" -w -t 60 start >/dev/null
}

postgres_stop() {
  [ -n "$postgres_data" ] && [ -f "$postgres_data/postmaster.pid" ] || return 0
  run_as_service_user postgres "$postgres_bin/pg_ctl" -D "$postgres_data" -m fast -w -t 60 stop >/dev/null || true
}

postgres_sql() {
  PGOPTIONS="-c client_min_messages=warning" "$postgres_bin/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$postgres_port" -U bench -d postgres -c "$1"
}

pgbench_p99() {
  cat "$1".* | awk '$3 ~ /^[0-9]+$/ {print $3}' | sort -n |
    awk '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit}; i = int(NR * 0.99); if (i < NR * 0.99) i++; printf "%.3f", v[i] / 1000}'
}

# Fields of pgbench's summary: tps, average latency, failed, retried, retries.
pgbench_field() {
  case "$1" in
  tps) sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$2" ;;
  latency) sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$2" ;;
  failed) sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$2" ;;
  retried) sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' "$2" ;;
  retries) sed -n 's/^total number of retries: \([0-9]*\).*/\1/p' "$2" ;;
  processed) sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$2" ;;
  esac
}
