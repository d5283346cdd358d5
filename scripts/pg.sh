#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the tests, built from the machine's packages.
#   scripts/pg.sh start   -> prints the asyncpg URL of a ready, empty-able database
#   scripts/pg.sh stop
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user.
set -euo pipefail

PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
PGPORT="${TEST_PGPORT:-55432}"
PGDATA="${TEST_PGDATA:-${TMPDIR:-/tmp}/vmeste-test-pg-$PGPORT}"
DB=vmeste_test

if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "pg.sh: PostgreSQL server binaries not found (Debian: apt-get install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"
    as_owner "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! as_owner "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start \
      -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
  fi
  if ! as_owner "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
    as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$DB"
  fi
  echo "postgresql+asyncpg://postgres@127.0.0.1:$PGPORT/$DB"
}

stop() {
  if [ -s "$PGDATA/PG_VERSION" ]; then
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: scripts/pg.sh start|stop" >&2; exit 2 ;;
esac
