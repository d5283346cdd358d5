"""The surveys themselves: YAML files in content/surveys, checked when read, loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.services.surveys.model import (
    _KEY,
    _MAX_INTRO,
    _MAX_OPTION,
    _MAX_OPTIONS,
    _MAX_QUESTION,
    _MAX_QUESTIONS,
    _MAX_TITLE,
    _OPTION_KEY,
    KEYS,
    KINDS,
    LANGS,
    SurveyError,
)

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "content" / "surveys"


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    text: dict[str, str]


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    kind: str  # scale | choice | text
    text: dict[str, str]
    options: tuple[Option, ...] = ()
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Survey:
    key: str
    title: dict[str, str]
    intro: dict[str, str]
    questions: tuple[Question, ...]


def _texts(value: Any, where: str, *, limit: int) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(LANGS):
        raise SurveyError(f"{where}: expected texts for exactly {', '.join(LANGS)}")
    out = {}
    for lang in LANGS:
        text = value[lang]
        if not isinstance(text, str) or not text.strip():
            raise SurveyError(f"{where}.{lang}: empty text")
        if len(text) > limit:
            raise SurveyError(f"{where}.{lang}: longer than {limit} characters")
        out[lang] = text.strip()
    return out


def _question(raw: Any, where: str) -> Question:
    if not isinstance(raw, dict):
        raise SurveyError(f"{where}: expected a mapping")
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise SurveyError(f"{where}.key: expected [a-z0-9_], at most 32 characters")
    where = f"{where} ({key})"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SurveyError(f"{where}.kind: expected one of {', '.join(KINDS)}")
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise SurveyError(f"{where}.optional: expected true or false")
    if kind == "text" and not optional:
        raise SurveyError(f"{where}.optional: free text is always optional (optional: true)")
    options: list[Option] = []
    if kind == "choice":
        items = raw.get("options")
        if not isinstance(items, list) or not 2 <= len(items) <= _MAX_OPTIONS:
            raise SurveyError(f"{where}.options: expected a list of 2-{_MAX_OPTIONS} options")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise SurveyError(f"{where}.options[{i}]: expected a mapping")
            okey = item.get("key")
            if not isinstance(okey, str) or not _OPTION_KEY.match(okey):
                raise SurveyError(f"{where}.options[{i}].key: expected [a-z0-9_], at most 24 characters")
            options.append(Option(okey, _texts(item.get("text"), f"{where}.options[{i}].text", limit=_MAX_OPTION)))
        if len({o.key for o in options}) != len(options):
            raise SurveyError(f"{where}.options: a key is used twice")
    elif "options" in raw:
        raise SurveyError(f"{where}.options: only a choice question has options")
    return Question(
        key=key,
        kind=kind,
        text=_texts(raw.get("text"), f"{where}.text", limit=_MAX_QUESTION),
        options=tuple(options),
        optional=optional,
    )


def parse_file(path: Path) -> Survey:
    """One survey file, checked; ``SurveyError`` names the file and the field at fault."""
    name = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SurveyError(f"{name}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise SurveyError(f"{name}: expected a mapping at the top")
    key = raw.get("key")
    if key != path.stem:
        raise SurveyError(f"{name}.key: expected {path.stem!r}, the name of the file")
    items = raw.get("questions")
    if not isinstance(items, list) or not 1 <= len(items) <= _MAX_QUESTIONS:
        raise SurveyError(f"{name}.questions: expected a list of 1-{_MAX_QUESTIONS} questions")
    questions = tuple(_question(item, f"{name}.questions[{i}]") for i, item in enumerate(items))
    if len({q.key for q in questions}) != len(questions):
        raise SurveyError(f"{name}.questions: a key is used twice")
    return Survey(
        key=key,
        title=_texts(raw.get("title"), f"{name}.title", limit=_MAX_TITLE),
        intro=_texts(raw.get("intro"), f"{name}.intro", limit=_MAX_INTRO),
        questions=questions,
    )


_cache: dict[str, Survey] | None = None


def load(folder: Path = DEFAULT_DIR) -> dict[str, Survey]:
    """Reads and checks every survey (one file per key of ``KEYS``) and caches them for the process."""
    global _cache
    found: dict[str, Survey] = {}
    for key in KEYS:
        path = folder / f"{key}.yaml"
        if not path.is_file():
            raise SurveyError(f"surveys/{key}.yaml: missing (expected one file for each of {', '.join(KEYS)})")
        found[key] = parse_file(path)
    _cache = found
    return found


def definitions() -> dict[str, Survey]:
    """The cached surveys (loaded from ``content/surveys`` on first use when ``load`` was not called)."""
    return _cache if _cache is not None else load()


def get(key: str) -> Survey:
    survey = definitions().get(key)
    if survey is None:
        raise KeyError(key)
    return survey


def text_of(texts: dict[str, str], locale: str) -> str:
    return texts.get(locale) or texts["en"]
