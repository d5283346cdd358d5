# Sourced by run.sh and test.sh: a virtual environment in .venv with the project installed,
# refreshed whenever pyproject.toml changes.
if [ -z "${PYTHON_BIN:-}" ]; then
  for candidate in python3 python3.13 python3.12 python3.11; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      PYTHON_BIN=$candidate
      break
    fi
  done
fi
if [ -z "${PYTHON_BIN:-}" ]; then
  echo "Python 3.11 or newer is needed (set PYTHON_BIN to its path)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON_BIN" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-$1
if [ ! -e "$stamp" ]; then
  extras=""
  [ "$1" = dev ] && extras="[dev]"
  echo "installing dependencies into .venv..." >&2
  if ! .venv/bin/python -m pip install --quiet --upgrade pip >/tmp/vmeste-pip.log 2>&1 ||
     ! .venv/bin/python -m pip install --quiet -e ".$extras" >>/tmp/vmeste-pip.log 2>&1; then
    cat /tmp/vmeste-pip.log >&2
    exit 1
  fi
  rm -f .venv/.installed-*-"$1"
  touch "$stamp"
fi
