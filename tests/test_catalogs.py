"""Fails when a message of the code lacks a translation in a catalog, or a compiled catalog is stale."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "content" / "locales"
LANGS = ("ru", "en")
KEYWORDS = {"_": None, "gettext": None, "Tr": None, "N_": None, "__": None, "lazy_gettext": None}


def code_msgids() -> set[str]:
    ids: set[str] = set()
    for folder in ("bot", "handlers", "dialogs"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def po(lang: str):
    with open(LOCALES / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang: str) -> None:
    catalog = po(lang)
    missing = sorted(m for m in code_msgids() if not (catalog.get(m) and catalog.get(m).string) or catalog.get(m).fuzzy)
    assert not missing, f"{lang}: untranslated or fuzzy (run scripts/i18n.sh extract, translate):\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalog_is_fresh(lang: str) -> None:
    source = {m.id: m.string for m in po(lang) if m.id and m.string and not m.fuzzy}
    with open(LOCALES / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    assert compiled == source, f"{lang}: messages.mo is stale, run scripts/i18n.sh compile"


@pytest.mark.parametrize("lang", LANGS)
def test_translations_keep_placeholders_and_tags(lang: str) -> None:
    for message in po(lang):
        if not message.id or not message.string:
            continue
        assert set(re.findall(r"\{\w*\}", message.id)) == set(re.findall(r"\{\w*\}", message.string)), message.id
        assert sorted(re.findall(r"</?\w+", message.id)) == sorted(re.findall(r"</?\w+", message.string)), message.id


def test_no_stale_entries_hide_in_the_catalogs() -> None:
    wanted = code_msgids()
    for lang in LANGS:
        extra = {m.id for m in po(lang) if m.id} - wanted
        assert not extra, f"{lang}: messages no longer in the code: {sorted(extra)}"
