# Start and stop a private PostgreSQL 15 server for the peer runners (sourced).
#   postgres_start WORK [PORT]  initdb in WORK/data, start on 127.0.0.1:PORT (default: a free port; sets postgres_port),
#                               with the durable defaults stated explicitly (fsync=on, synchronous_commit=on,
#                               full_page_writes=on); prints the settings in force to stderr. WORK must be absent or
#                               empty (it becomes the server's); every directory above it must be searchable by the
#                               service user.
#   postgres_stop [WORK]        stop it (fast shutdown, then immediate, then SIGKILL of the postmaster, each bounded);
#                               WORK defaults to the one postgres_start used. Safe to call twice, from a trap.
#   postgres_sql SQL            run SQL as the bench superuser, stop on error
#   postgres_value SQL          print one value (psql -A -t)
#   pgbench_percentile P PREFIX the P-th percentile (0 < P <= 100) in ms of the per-transaction logs PREFIX.* (pgbench -l)
#   pgbench_p99 PREFIX          pgbench_percentile 99 PREFIX
#   pgbench_field NAME FILE     a field of pgbench's summary (tps, latency, failed, retried, retries, processed)
# PostgreSQL refuses to run as root: as root the server runs as the service
# user $postgres_user (Debian's `postgres`, created as a system user when it
# does not exist), through runuser. Needs common.sh sourced first.

postgres_user=${CHORUS_POSTGRES_USER:-postgres}
postgres_bin=""
postgres_port=""
postgres_work=""
postgres_data=""

# The PostgreSQL 15 binaries: $CHORUS_POSTGRES_BIN, else Debian's directory, else wherever pg_ctl is on PATH.
postgres_find_binaries() {
  local candidate
  for candidate in "${CHORUS_POSTGRES_BIN:-}" /usr/lib/postgresql/15/bin "$(dirname "$(readlink -f "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")")"; do
    if [ -n "$candidate" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pgbench" ] &&
      [ -x "$candidate/psql" ]; then
      postgres_bin=$candidate
      return 0
    fi
  done
  need_packages /usr/lib/postgresql/15/bin/pgbench postgresql-15 postgresql-client-15 postgresql-contrib || return 2
  postgres_bin=/usr/lib/postgresql/15/bin
}

postgres_ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  id -u "$postgres_user" >/dev/null 2>&1 && return 0
  echo "creating the system user $postgres_user (PostgreSQL refuses to run as root)" >&2
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$postgres_user"
}

postgres_start() {
  local work=$1 port=${2:-}
  postgres_find_binaries || return 2
  postgres_ensure_user || return 2
  if [ -e "$work/data" ]; then
    echo "postgres_start: $work/data exists already (stop it first: Scripts/peers/postgres.sh stop $work)" >&2
    return 2
  fi
  if [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then
    echo "postgres_start: $work is not empty (postgres_stop removes WORK, so it must be the server's alone)" >&2
    return 2
  fi
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
  : >"$work/.chorus-postgres-peer" # the mark that lets postgres_stop remove WORK
  if [ "$(id -u)" = 0 ]; then
    chown "$postgres_user" "$work"
    chmod 700 "$work"
    if ! runuser -u "$postgres_user" -- test -x "$work"; then
      echo "postgres_start: user $postgres_user cannot enter $work (a directory above it is not searchable); use a directory under /tmp" >&2
      return 2
    fi
  fi
  postgres_work=$work
  postgres_data=$work/data
  run_as_service_user "$postgres_user" "$postgres_bin/initdb" -D "$postgres_data" -U bench --auth=trust \
    --encoding=UTF8 --locale=C >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; return 1; }
  [ -n "$port" ] || port=$(free_port)
  postgres_port=$port
  # Sized for this 2-core, 24 GiB machine and short benchmark runs: a quarter
  # GiB of buffers holds every table here; WAL and checkpoint limits so that
  # no checkpoint (and its full-page images) falls inside a 10-60 s run.
  cat >>"$postgres_data/postgresql.conf" <<CONF
# chorus peer settings
listen_addresses = '127.0.0.1'
port = $postgres_port
unix_socket_directories = '$work'
max_connections = 200
shared_buffers = 256MB
wal_buffers = 16MB
max_wal_size = 4GB
checkpoint_timeout = 15min
fsync = on
synchronous_commit = on
full_page_writes = on
wal_sync_method = fdatasync
CONF
  run_as_service_user "$postgres_user" "$postgres_bin/pg_ctl" -D "$postgres_data" -l "$work/postgres.log" -w -t 60 start \
    >/dev/null || { cat "$work/postgres.log" >&2; return 1; }
  echo "postgres $("$postgres_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$postgres_port, data $postgres_data:" \
    "$(postgres_value "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings
       WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers',
                      'wal_buffers', 'max_wal_size', 'checkpoint_timeout', 'max_connections')")" >&2
}

postgres_stop() {
  local work=${1:-$postgres_work} data pid
  [ -n "$work" ] || return 0
  data=$work/data
  if [ -f "$data/postmaster.pid" ]; then
    postgres_find_binaries || return 2
    run_as_service_user "$postgres_user" "$postgres_bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      run_as_service_user "$postgres_user" "$postgres_bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    if [ -f "$data/postmaster.pid" ]; then
      pid=$(head -1 "$data/postmaster.pid")
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "postgres_stop: the postmaster $pid did not stop; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
      fi
    fi
  fi
  # Remove only what postgres_start made.
  [ -f "$work/.chorus-postgres-peer" ] && rm -rf "$work"
  [ "$work" = "$postgres_work" ] && { postgres_work=""; postgres_data=""; }
  return 0
}

postgres_sql() {
  PGOPTIONS="-c client_min_messages=warning" "$postgres_bin/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$postgres_port" -U bench -d postgres -c "$1"
}

postgres_value() {
  "$postgres_bin/psql" -X -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$postgres_port" -U bench -d postgres -c "$1"
}

pgbench_percentile() {
  # Column 3 of a log line is the transaction's latency in µs ("failed" or "skipped" for those that did not commit).
  cat "$2".* | awk '$3 ~ /^[0-9]+$/ {print $3}' | sort -n | awk -v p="$1" '{v[NR] = $1} END {
    if (NR == 0) {print "nan"; exit}
    i = int(NR * p / 100); if (i < NR * p / 100) i++; if (i < 1) i = 1
    printf "%.3f", v[i] / 1000
  }'
}

pgbench_p99() { pgbench_percentile 99 "$1"; }

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
