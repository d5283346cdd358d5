# Sourced by run.sh and test.sh: a virtual environment in .venv with the project installed,
# refreshed whenever pyproject.toml changes.
PYTHON_BIN="${PYTHON_BIN:-$(command -v python3.12 || command -v python3.11 || command -v python3)}"
if ! "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is needed (found: $("$PYTHON_BIN" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON_BIN" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-$1
if [ ! -e "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  if [ "$1" = dev ]; then
    .venv/bin/python -m pip install --quiet -e '.[dev]'
  else
    .venv/bin/python -m pip install --quiet -e .
  fi
  rm -f .venv/.installed-*-"$1"
  touch "$stamp"
fi
