# Sourced by the benchmark scripts: a local three-node Chorus cluster.
#
#   start_chorus_cluster CHORUS BASE WORK   starts `chorus cluster up` (peers on
#       BASE+i, HTTP on BASE+1000+i, the Redis protocol on BASE+2000+i, log in
#       WORK/cluster.log) and waits for a leader; sets cluster_pid and
#       leader_port, or exits 1 with the log. CHORUS_CLUSTER_NODES (default 3).
#   stop_chorus_cluster                     stops it (also safe in an EXIT trap).
#   The cluster runs with --insecure-no-auth: etcd, its peer in the same run,
#   serves without authentication too, and the load tools send no token.
#   Peer links are mutual TLS (certificates made in WORK/chorus/certs), as a
#   user gets them; CHORUS_CLUSTER_FLAGS adds flags (e.g. --insecure-peers).
start_chorus_cluster() {
  local chorus=$1 base=$2 work=$3 port i
  "$chorus" cluster up --nodes "${CHORUS_CLUSTER_NODES:-3}" --data-dir "$work/chorus" --base-port "$base" --log-level warning --insecure-no-auth ${CHORUS_CLUSTER_FLAGS:-} >"$work/cluster.log" 2>&1 &
  cluster_pid=$!
  leader_port=""
  for _ in $(seq 1 100); do
    for i in $(seq 1 "${CHORUS_CLUSTER_NODES:-3}"); do
      port=$((base + 1000 + i))
      if curl -s "http://127.0.0.1:$port/healthz" 2>/dev/null | grep -q '"role":"leader"'; then leader_port=$port; fi
    done
    [ -n "$leader_port" ] && break
    sleep 0.2
  done
  [ -n "$leader_port" ] || { echo "the Chorus cluster elected no leader; see $work/cluster.log" >&2; cat "$work/cluster.log" >&2; exit 1; }
}

stop_chorus_cluster() {
  if [ -n "${cluster_pid:-}" ] && kill -0 "$cluster_pid" 2>/dev/null; then
    kill -INT "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
  fi
  cluster_pid=""
}
