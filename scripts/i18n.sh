#!/usr/bin/env bash
# Gettext workflow:
#   scripts/i18n.sh extract   -> content/locales/messages.pot from the code, then update every .po
#   scripts/i18n.sh compile   -> .mo files next to each .po (they are committed; a test checks they are fresh)
#   scripts/i18n.sh init LANG -> start a new language
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
LOCALES=content/locales
POT=$LOCALES/messages.pot

extract() {
  "$PY" -m babel.messages.frontend extract --no-location --sort-output --omit-header \
    -k Tr -k N_ -k __ -k lazy_gettext -o "$POT" bot handlers dialogs >/dev/null 2>&1
  for po in "$LOCALES"/*/LC_MESSAGES/messages.po; do
    [ -e "$po" ] || continue
    lang=$(basename "$(dirname "$(dirname "$po")")")
    "$PY" -m babel.messages.frontend update --no-fuzzy-matching --ignore-obsolete \
      -i "$POT" -d "$LOCALES" -D messages -l "$lang" >/dev/null
  done
}

compile() {
  "$PY" -m babel.messages.frontend compile --statistics -d "$LOCALES" -D messages
}

case "${1:-}" in
  extract) extract ;;
  compile) compile ;;
  init) "$PY" -m babel.messages.frontend init -i "$POT" -d "$LOCALES" -D messages -l "$2" ;;
  *) echo "usage: scripts/i18n.sh extract|compile|init LANG" >&2; exit 2 ;;
esac
