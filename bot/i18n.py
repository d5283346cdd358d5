"""Gettext catalogs (``content/locales/<lang>/LC_MESSAGES/messages.po``) through aiogram's I18n.

Extract, update and compile with ``scripts/i18n.sh``; ``tests/test_catalogs.py`` fails when a
message lacks a translation or a compiled catalog is stale.
"""

from __future__ import annotations

from pathlib import Path

from aiogram.utils.i18n import I18n

DOMAIN = "messages"


def N_(msgid: str) -> str:
    return msgid


def create_i18n(content_dir: Path, default_locale: str) -> I18n:
    return I18n(path=content_dir / "locales", default_locale=default_locale, domain=DOMAIN)
