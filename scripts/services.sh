#!/usr/bin/env bash
# PostgreSQL and Redis for the tests of @skitai/db, on ports of their own, in a throwaway folder.
#   eval "$(scripts/services.sh start)"   starts both (installs them from Debian when missing, as
#                                         root) and prints the exports the tests read
#   scripts/services.sh env               prints the exports again
#   scripts/services.sh stop              stops both and removes the folder
# PGPORT (55432) and REDIS_PORT (56379) may be set; SKITAI_SERVICES_DIR is the state folder.
set -euo pipefail

PGPORT="${SKITAI_PGPORT:-55432}"
REDIS_PORT="${SKITAI_REDIS_PORT:-56379}"
DIR="${SKITAI_SERVICES_DIR:-/tmp/skitai-services-$PGPORT}"
PGBIN="${PGBIN:-}"

find_pgbin() {
  if [ -z "$PGBIN" ]; then
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PGBIN="$d"; done
  fi
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

print_env() {
  cat <<ENV
export PGHOST=127.0.0.1 PGPORT=$PGPORT PGUSER=postgres PGDATABASE=postgres
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
ENV
}

install_missing() {
  find_pgbin
  local need=()
  [ -n "$PGBIN" ] || need+=(postgresql)
  command -v redis-server >/dev/null || need+=(redis-server)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then echo "services.sh: install ${need[*]} (apt-get, as root)" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
    find_pgbin
  fi
}

start() {
  install_missing
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
  if [ ! -f "$DIR/pg/PG_VERSION" ]; then
    as_postgres "$PGBIN/initdb" -D "$DIR/pg" -U postgres -A trust --no-sync >/dev/null
    # The superuser connects without a password; every other role must give its own (the
    # wrong-password tests need a server that checks).
    cat > "$DIR/pg/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
  fi
  if ! as_postgres "$PGBIN/pg_ctl" -D "$DIR/pg" status >/dev/null 2>&1; then
    # A run that just stopped leaves the port in TIME-WAIT for up to a minute, and PostgreSQL
    # will not bind it then: try again while the port is still taken.
    local tries=0
    until as_postgres "$PGBIN/pg_ctl" -D "$DIR/pg" -l "$DIR/pg.log" -w -t 30 \
      -o "-p $PGPORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null; do
      tries=$((tries + 1))
      if [ "$tries" -ge 8 ] || ! grep -q 'Address already in use' "$DIR/pg.log"; then return 1; fi
      echo "services: port $PGPORT is still taken, trying again in 10 s" >&2
      sleep 10
    done
  fi
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" >/dev/null
    for _ in $(seq 1 100); do
      [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
      sleep 0.1
    done
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || { echo "services.sh: redis-server did not start (see $DIR/redis.log)" >&2; exit 1; }
  fi
  print_env
}

stop() {
  find_pgbin
  if [ -n "$PGBIN" ] && [ -f "$DIR/pg/PG_VERSION" ]; then
    as_postgres "$PGBIN/pg_ctl" -D "$DIR/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$DIR/redis.pid" ]; then kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
