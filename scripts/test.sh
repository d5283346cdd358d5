#!/usr/bin/env bash
# The test command: sets up .venv, starts a throw-away PostgreSQL 15 from the machine's packages (on a
# free port, stopped at exit; the suite starts and stops its own redis-server), checks the gates (ruff
# check, ruff format --check, mypy, lint-imports) and runs the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh dev

# Servers the suite talks to, from the machine's Debian packages (installed when missing and we are root).
need_pkg() {  # need_pkg BINARY_TEST PACKAGE
  if ! eval "$1" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $2 from Debian's packages..." >&2
    apt-get install -y -q "$2" >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$2" >/dev/null 2>&1; } ||
      echo "could not install $2" >&2
  fi
}
need_pkg 'ls /usr/lib/postgresql/*/bin/initdb' postgresql
need_pkg 'command -v redis-server' redis-server

# A PostgreSQL of our own unless TEST_POSTGRES_URL is given: on a free port and in a data directory of
# its own (removed at exit) unless TEST_PGPORT is given; stopped when this script exits, however it
# exits — if this script started it (a cluster already listening on TEST_PGPORT is left running).
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  if [ -z "${TEST_PGPORT:-}" ]; then
    TEST_PGPORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if [ -z "${TEST_PGDATA:-}" ]; then
      TEST_PGDATA=$(mktemp -d "${TMPDIR:-/tmp}/vmeste-test-pg-XXXXXX")
      export TEST_PGDATA
      remove_pgdata=$TEST_PGDATA
    fi
  fi
  export TEST_PGPORT
  if ! .venv/bin/python -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" \
    "$TEST_PGPORT" 2>/dev/null; then
    stop_pg() {
      scripts/pg.sh stop || true
      if [ -n "${remove_pgdata:-}" ]; then rm -rf "$remove_pgdata"; fi
    }
    trap stop_pg EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
  fi
  TEST_POSTGRES_URL=$(scripts/pg.sh start)
  export TEST_POSTGRES_URL
fi
export REQUIRE_POSTGRES="${REQUIRE_POSTGRES:-1}"

start=$(date +%s)
set +e
# The gates first (lint, format, types): a failure fails the run, but the tests still run and report.
gates=0
.venv/bin/ruff check . || gates=1
.venv/bin/ruff format --check . || gates=1
.venv/bin/mypy || gates=1
.venv/bin/lint-imports --no-cache || gates=1
[ "$gates" = 0 ] || echo "gates failed: ruff check, ruff format --check, mypy or lint-imports (see above)" >&2
# Tests run in TEST_WORKERS processes (pytest-xdist; each has its own databases, fake Bot API and
# bots): most of an end-to-end test is waiting, so three share two cores well. -n 0 after it: one.
.venv/bin/python -m pytest -n "${TEST_WORKERS:-3}" "$@"
rc=$?
set -e
echo "test command took $(( $(date +%s) - start ))s"
[ "$rc" = 0 ] && [ "$gates" != 0 ] && rc=1
exit $rc
