#!/usr/bin/env bash
# A private PostgreSQL 15 server for benchmarks, by hand or from a runner.
#
# Usage: Scripts/peers/postgres.sh start DIR PORT   initdb in DIR/data (DIR absent or empty) and start on
#                                                   127.0.0.1:PORT; prints the settings in force, then DIR's
#                                                   connection line (psql -h 127.0.0.1 -p PORT -U bench postgres)
#        Scripts/peers/postgres.sh stop DIR         stop it (fast, bounded; immediate and SIGKILL as fallbacks) and
#                                                   remove DIR; nothing to do (exit 0) when DIR holds no server
#
# Durability is PostgreSQL's default, stated explicitly: fsync=on,
# synchronous_commit=on, full_page_writes=on, wal_sync_method=fdatasync (see
# postgres-server.sh for the other settings, sized for a 2-core machine).
# Authentication is trust on loopback for the superuser `bench`. As root the
# server runs as the system user `postgres` (created when absent), since
# PostgreSQL refuses to run as root; every directory above DIR must then be
# searchable by it (/tmp is). Missing PostgreSQL: installed as root
# (apt-get install -y postgresql-15 postgresql-client-15 postgresql-contrib), else named.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/postgres-server.sh"
case "${1:-}" in
start)
  dir=${2:?usage: postgres.sh start DIR PORT}
  port=${3:?usage: postgres.sh start DIR PORT}
  postgres_start "$dir" "$port" 2>&1
  echo "psql -h 127.0.0.1 -p $postgres_port -U bench postgres"
  ;;
stop)
  dir=${2:?usage: postgres.sh stop DIR}
  [ -d "$dir" ] || exit 0
  postgres_stop "$(cd "$dir" && pwd)"
  ;;
*)
  echo "usage: postgres.sh start DIR PORT | stop DIR" >&2
  exit 64
  ;;
esac
