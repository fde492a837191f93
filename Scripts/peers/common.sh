# Helpers shared by the peer runners in this directory (sourced, not run).
#   need_packages COMMAND PACKAGE...   install Debian packages when COMMAND is missing
#   free_port                          a free TCP port on 127.0.0.1
#   run_as_service_user USER CMD...    run CMD as USER when we are root (servers refuse root)
#   bounded SECONDS CMD...             run CMD, killed if it outlives SECONDS (every load is bounded in time)

need_packages() {
  local command=$1; shift
  [ -x "$command" ] || command -v "$command" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing $command: run as root or apt-get install -y $*" >&2
    return 2
  fi
  echo "installing $* (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; }
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_as_service_user() {
  local user=$1; shift
  if [ "$(id -u)" = 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

bounded() {
  local seconds=$1; shift
  # --foreground keeps COMMAND in our process group, so Ctrl-C reaches it and the script (and its trap) ends.
  timeout --foreground --kill-after=10 "$seconds" "$@"
}
