#!/usr/bin/env bash
# The run command: sets up .venv and starts the bot (long polling, or webhook when WEBHOOK_URL is set).
# Settings come from the environment and from .env; a missing ENCRYPTION_KEY is generated into .env once.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh prod

if [ -z "${ENCRYPTION_KEY:-}" ] && ! grep -qs '^ENCRYPTION_KEY=' .env; then
  echo "ENCRYPTION_KEY=$(.venv/bin/python -m bot keygen)" >> .env
  chmod 600 .env
  echo "A new ENCRYPTION_KEY was written to .env: back it up, without it the stored dialogs cannot be read." >&2
fi
exec .venv/bin/python -m bot "$@"
