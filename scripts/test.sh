#!/usr/bin/env bash
# The test command: sets up .venv, starts a throw-away PostgreSQL 15 from the machine's packages,
# and runs the whole suite on PostgreSQL and SQLite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh dev

if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  TEST_POSTGRES_URL=$(scripts/pg.sh start)
  export TEST_POSTGRES_URL
fi
export REQUIRE_POSTGRES="${REQUIRE_POSTGRES:-1}"

start=$(date +%s)
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
echo "test command took $(( $(date +%s) - start ))s"
exit $rc
