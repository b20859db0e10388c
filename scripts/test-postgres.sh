#!/usr/bin/env bash
# A private PostgreSQL server for one test run: `start <dir>` prints a superuser URL, `stop <dir>` ends it;
# `restart`, `pause` and `resume` are for the fault suite.
# Used by scripts/test.sh when TEST_DATABASE_URL is not given. Needs Debian's postgresql package.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:?start|stop|restart|pause|resume}; dir=${2:?directory}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "PostgreSQL server binaries not found: install them with 'apt-get install -y postgresql'" >&2
  exit 1
fi
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# pg_ctl start/restart leave the server running: detached, so it holds none of our caller's pipes.
pg_ctl_detached() { detached "$dir/pg_ctl.log" as_owner "$pgbin/pg_ctl" "$@" || { tail -20 "$dir/pg_ctl.log" >&2; return 1; }; }
case "$cmd" in
  start)
    mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$pgbin/initdb" -D "$dir/data" -A trust -U capsul --no-sync -E UTF8 >"$dir/initdb.log" 2>&1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    pg_ctl_detached -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start
    echo "$port" >"$dir/port"
    echo "postgresql://capsul@127.0.0.1:$port/postgres"
    ;;
  restart)
    pg_ctl_detached -D "$dir/data" -m fast -w -t 60 restart -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" -l "$dir/server.log"
    ;;
  pause)   # stop it (clients then get connection refused); `resume` starts it again on the same port
    as_owner "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    pg_ctl_detached -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
esac
