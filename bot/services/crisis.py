"""Notices words that may mean a person is in danger right now, so the bot can offer crisis help.

The lists live in ``content/crisis/<lang>.txt`` (the guide at the top of each file tells staff how
to write them). An entry is a few words in the order people say them; each word is reduced to its
dictionary form (pymorphy3 for Russian, the Snowball stemmer for English), so one entry catches
every form: «хотеть умереть» finds «хочу умереть», «хочется умереть», «хотела умереть».

A message is read the way it is written on a phone:

- lowercased, ё → е, Latin look-alike letters inside a Russian word turned back into Cyrillic
  («xoчу» → «хочу»), English contractions opened («don't» → «do not», «wanna» → «want to»);
- up to ``MAX_GAP`` other words may stand between two words of an entry («не хочу я больше жить»);
- a «не» glued to the next word is split off («нехочу»), so are two known words run together;
- letters held down are let go («жииить»); a Russian word the dictionary does not know, of
  ``FUZZY_MIN`` letters or more (an English one of ``FUZZY_MIN_LATIN``), is matched to the lists'
  words one slip away (a missing, extra, swapped or wrong letter, never the first one);
- an entry never spans a clause (a comma, a full stop) when people use punctuation;
- «не» / "not" / "no" right before an entry's first word, or between its words, cancels the match
  when the entry has none there («не хочу умирать» is not «хочу умереть»);
- ``[not-a-crisis]`` entries cancel a match they cover entirely («убить время», «не хочу жить у
  мамы»).

Every language's list is applied to every message: people mix languages. An entry's section says
what kind of danger it is (``Kind``). Words are analysed once and cached, so a message costs tens of
microseconds (``python -m bench.crisis``).
"""

from __future__ import annotations

import enum
import functools
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymorphy3
import snowballstemmer

# A message longer than this is looked at in its first part only; nobody hides an alarm after 10k chars.
_SCAN_LIMIT = 20_000
# How many other words may stand between two words of an entry.
MAX_GAP = 3
# Words this long or longer may be matched with one slip; shorter ones must be spelled right. Russian
# words are checked against the dictionary first (only unknown ones are slips); English words are not,
# so they must be longer.
FUZZY_MIN = 4
FUZZY_MIN_LATIN = 6
# Longer "words" (a pasted link, a key held down) are not looked at for slips.
_LONGEST = 40
# A word may be cached as often as people write new words; a bound keeps memory flat. A cached word
# costs about 1 KiB (its readings here and in the detector's own cache): 10 000 words are some 10 MiB
# (50 000 were 48 MiB, measured), and a word that fell out is analysed again in about 65 µs.
_CACHE_SIZE = 10_000


class Kind(enum.StrEnum):
    """The kinds of danger the programme meets (the section names of the lists)."""

    SELF_HARM = "self-harm"  # suicide, self-harm, overdose
    VIOLENCE = "violence"  # beating, threats, strangling, rape — against her or the children
    NO_SHELTER = "no-shelter"  # nowhere to be tonight, with the children, nothing to feed them


NOT_A_CRISIS = "not-a-crisis"
_SECTIONS = {k.value for k in Kind} | {NOT_A_CRISIS}

NEGATORS = frozenset({"не", "ни", "not", "never", "no"})

# Latin letters that look like Cyrillic ones, as people type them on a keyboard of the wrong layout
# or to dodge a filter; digits too. Applied only to words that already have a Cyrillic letter.
_LOOKALIKE = str.maketrans(
    {
        "a": "а",
        "b": "в",
        "c": "с",
        "e": "е",
        "h": "н",
        "k": "к",
        "m": "м",
        "o": "о",
        "p": "р",
        "t": "т",
        "u": "и",
        "x": "х",
        "y": "у",
        "0": "о",
        "3": "з",
        "6": "б",
    }
)
_CYRILLIC = re.compile(r"[а-я]")
_LATIN = re.compile(r"[a-z]")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Punctuation that ends a clause: an entry never spans it («не хочу умирать, хочу жить»). People often
# write without it, and then the words alone decide.
_CLAUSE = re.compile(r"[,.!?;:()\[\]\"«»…\n]+|\s[-–—]+\s")
# «не где», «не куда»: written apart, meant as «негде», «некуда».
_GLUED = {"где": "негде", "куда": "некуда"}
# Unstressed vowels people mix up: «хачу», «типерь».
_VOWEL_SLIPS = {"а": "о", "о": "а", "е": "и", "и": "е"}
_REPEATS = re.compile(r"(.)\1{2,}")
_DOUBLES = re.compile(r"(.)\1+")

# English written as people type it: apostrophes skipped, contractions, "wanna". "Isn't" and the
# like are opened by rule (``_words``); these are the rest.
_EN_NOT = ("do", "does", "did", "is", "are", "was", "were", "have", "has", "had", "would", "could", "should")
_EN_SHORT = {f"{verb}nt": f"{verb} not" for verb in _EN_NOT} | {
    "cant": "can not",
    "can't": "can not",
    "cannot": "can not",
    "wont": "will not",
    "won't": "will not",
    "im": "i am",
    "ive": "i have",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "u": "you",
}


class CrisisListError(ValueError):
    """A line of content/crisis/*.txt the detector cannot use; the message names the file and line."""


@functools.cache
def _morph() -> Any:
    """The Russian analyser: loaded once per process (~0.1 s, ~15 MB), shared by every detector."""
    return pymorphy3.MorphAnalyzer(lang="ru")


@functools.cache
def _stemmer() -> Any:
    return snowballstemmer.stemmer("english")


# pymorphy3's analyser and the stemmer are not documented as thread-safe; the bot is one asyncio
# thread, but a test or a tool might call detect() from several.
_LOCK = threading.Lock()


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    return text.replace("’", "'").replace("ʼ", "'").replace("`", "'")


def _words(text: str) -> list[str]:
    """The words of a normalized clause: look-alikes fixed, contractions opened, hyphens split."""
    out: list[str] = []
    for raw in _WORD.findall(text):
        word = raw
        if _CYRILLIC.search(word):
            word = word.translate(_LOOKALIKE).replace("'", "")
            if word in _GLUED and out and out[-1] == "не":
                out[-1] = _GLUED[word]
            else:
                out.append(word)
        elif word in _EN_SHORT:
            out.extend(_EN_SHORT[word].split())
        elif word.endswith("n't"):
            out.extend((word[:-3], "not"))
        else:
            out.append(word.split("'", 1)[0] if word.endswith(("'s", "'m", "'ll", "'d", "'re", "'ve")) else word)
    return out


def _is_russian(word: str) -> bool:
    return _CYRILLIC.search(word) is not None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _lemmas(word: str) -> frozenset[str]:
    """Every dictionary form a written word may have, and the word itself."""
    if _is_russian(word):
        with _LOCK:
            return frozenset({word, *(p.normal_form.replace("ё", "е") for p in _morph().parse(word))})
    if _LATIN.search(word):
        with _LOCK:
            return frozenset({word, _stemmer().stemWord(word)})
    return frozenset({word})


@functools.lru_cache(maxsize=4096)
def _entry_lemma(word: str) -> str:
    """The dictionary form of a word written in a list: the most likely reading only."""
    if _is_russian(word):
        with _LOCK:
            parses = _morph().parse(word)
        return parses[0].normal_form.replace("ё", "е") if parses else word
    if _LATIN.search(word):
        with _LOCK:
            return str(_stemmer().stemWord(word))
    return word


def _known(word: str) -> bool:
    if not _is_russian(word):
        return True  # no English dictionary here: English words are taken as written
    with _LOCK:
        return bool(_morph().word_is_known(word))


def _one_slip(a: str, b: str) -> bool:
    """True when a and b differ by one letter added, dropped, changed or two swapped (not the first)."""
    if a == b or a[:1] != b[:1] or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(1, len(long_)))


# --- entries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Atom:
    """One alternative of a word of an entry: a dictionary form, an exact form, or a word start."""

    text: str
    how: str  # "lemma", "exact", "prefix"


@dataclass(frozen=True)
class Entry:
    kind: str  # a Kind value or NOT_A_CRISIS
    terms: tuple[frozenset[int], ...]  # each word: the ids of its alternatives
    has_negator: tuple[bool, ...]  # which words are «не» / «not» themselves
    where: str


_ENTRY_WORD = re.compile(r"^(?:\"[^\W\d_]+(?:'[^\W\d_]+)?\"|[^\W\d_]+(?:'[^\W\d_]+)?\*?)$")


@dataclass
class _Hit:
    kind: str
    start: int
    end: int
    where: str


class CrisisDetector:
    """Finds the entries of the lists in a message. Build with ``from_dir``; ``size`` counts entries."""

    ListError = CrisisListError

    def __init__(self, lines: Iterable[tuple[str, int, str]] = ()) -> None:
        """``lines``: (file name, line number, text) of list files, sections included."""
        self._atoms: dict[Atom, int] = {}
        self._written: set[str] = set()  # the words as the lists write them (English has no lexicon here)
        self._entries: list[Entry] = []
        section: str | None = None
        for name, number, raw in lines:
            line = normalize(raw.split("#", 1)[0]).strip()
            if not line:
                continue
            where = f"{name}, line {number}"
            if line.startswith("["):
                if not line.endswith("]") or line[1:-1].strip() not in _SECTIONS:
                    raise CrisisListError(
                        f"{where}: unknown section {raw.strip()!r}; use one of "
                        + ", ".join(f"[{s}]" for s in sorted(_SECTIONS))
                    )
                section = line[1:-1].strip()
                continue
            if section is None:
                raise CrisisListError(f"{where}: put {raw.strip()!r} under a section such as [violence]")
            self._entries.append(self._parse(line, section, where))
        self.size = sum(1 for e in self._entries if e.kind != NOT_A_CRISIS)
        # Which entries may start at a word: by the atoms of their first word.
        self._starts: dict[int, list[int]] = {}
        for index, entry in enumerate(self._entries):
            for atom in entry.terms[0]:
                self._starts.setdefault(atom, []).append(index)
        self._lemma_atoms: dict[str, int] = {a.text: i for a, i in self._atoms.items() if a.how == "lemma"}
        self._exact_atoms: dict[str, int] = {a.text: i for a, i in self._atoms.items() if a.how == "exact"}
        self._prefixes = [(a.text, i) for a, i in self._atoms.items() if a.how == "prefix"]
        # A misspelt word is compared with the lists' forms of its first letter and about its length.
        self._by_start: dict[tuple[str, int], list[str]] = {}
        self._vocabulary = self._forms_of_vocabulary()
        for form in self._vocabulary:
            self._by_start.setdefault((form[0], len(form)), []).append(form)
        self._read = functools.lru_cache(maxsize=_CACHE_SIZE)(self._read_word)

    @classmethod
    def from_dir(cls, directory: Path) -> CrisisDetector:
        """Every ``*.txt`` of the folder; a wrong line raises ``CrisisListError`` naming it."""
        lines: list[tuple[str, int, str]] = []
        for path in sorted(directory.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            lines.extend((f"{directory.name}/{path.name}", n, line) for n, line in enumerate(text.splitlines(), 1))
        return cls(lines)

    @classmethod
    def from_entries(cls, kind: Kind | str, entries: Iterable[str]) -> CrisisDetector:
        """A detector of a few entries of one kind (for tests and tools)."""
        return cls([("entries", 0, f"[{kind}]"), *(("entries", n, e) for n, e in enumerate(entries, 1))])

    # --- reading the lists ---

    def _atom(self, text: str, how: str) -> int:
        return self._atoms.setdefault(Atom(text, how), len(self._atoms))

    def _parse(self, line: str, section: str, where: str) -> Entry:
        terms: list[frozenset[int]] = []
        negators: list[bool] = []
        for word in line.replace("-", " ").split():
            alternatives = word.split("|")
            ids: set[int] = set()
            for alt in alternatives:
                if not _ENTRY_WORD.match(alt):
                    raise CrisisListError(
                        f"{where}: cannot read {alt!r} in {line!r}: write words of letters, "
                        'alternatives as a|b, a word start as word*, an exact form in "quotes"'
                    )
                if alt.startswith('"'):
                    ids.add(self._atom(_fix_letters(alt.strip('"')), "exact"))
                elif alt.endswith("*"):
                    stem = _fix_letters(alt[:-1])
                    if len(stem) < 3:
                        raise CrisisListError(f"{where}: {alt!r} is too short a word start (3 letters at least)")
                    ids.add(self._atom(stem, "prefix"))
                else:
                    ids.add(self._atom(_entry_lemma(_fix_letters(alt)), "lemma"))
                    self._written.add(_fix_letters(alt))
            terms.append(frozenset(ids))
            negators.append(all(a.strip('"') in NEGATORS for a in alternatives))
        if not terms:
            raise CrisisListError(f"{where}: empty entry")
        if len(terms) > 8:
            raise CrisisListError(f"{where}: {line!r} is too long (8 words at most); split it")
        if all(negators):
            raise CrisisListError(f"{where}: {line!r} has only «не»/«not»: it would catch everything")
        return Entry(section, tuple(terms), tuple(negators), where)

    def _forms_of_vocabulary(self) -> set[str]:
        """Every written form of the lists' words: what a misspelt word is compared with."""
        forms = {w for w in self._written if not _is_russian(w)}
        for atom in self._atoms:
            if atom.how == "prefix" or len(atom.text) < FUZZY_MIN - 1:
                continue
            forms.add(atom.text)
            if atom.how == "lemma" and _is_russian(atom.text):
                with _LOCK:
                    parses = _morph().parse(atom.text)
                for parse in parses[:1]:
                    forms.update(f.word.replace("ё", "е") for f in parse.lexeme)
        return {f for f in forms if len(f) >= FUZZY_MIN - 1}

    # --- reading a message ---

    def _atoms_of(self, word: str) -> frozenset[int]:
        found: set[int] = set()
        exact = self._exact_atoms.get(word)
        if exact is not None:
            found.add(exact)
        lemmas = _lemmas(word)
        for lemma in lemmas:
            atom = self._lemma_atoms.get(lemma)
            if atom is not None:
                found.add(atom)
        for prefix, atom in self._prefixes:
            if any(lemma.startswith(prefix) for lemma in lemmas):
                found.add(atom)
        if word == "ни":  # «ни хочу» — a common slip for «не»
            found |= self._atoms_of("не")
        return frozenset(found)

    def _read_word(self, word: str) -> tuple[tuple[frozenset[int], bool], ...]:
        """The list atoms of a written word (maybe split in two), and whether each part is «не»."""
        if not _is_russian(word):
            atoms = self._atoms_of(word)
            if not atoms and _LATIN.search(word) and len(word) <= _LONGEST:
                for fixed in (_REPEATS.sub(r"\1\1", word), _DOUBLES.sub(r"\1", word)):
                    atoms = atoms or self._atoms_of(fixed)
                if not atoms and len(word) >= FUZZY_MIN_LATIN:
                    atoms = self._fuzzy(word) | self._fuzzy(_entry_lemma(word))
            return ((atoms, word in NEGATORS),)
        if len(word) > _LONGEST:
            return ((frozenset(), False),)
        if _known(word):
            atoms = self._atoms_of(word)
            if not atoms and len(word) >= FUZZY_MIN:
                atoms = self._vowel_slip(word)
            return ((atoms, word in NEGATORS),)
        # Unknown to the dictionary: a slip. Letters held down, a glued «не», two words run together, a typo.
        for fixed in (_REPEATS.sub(r"\1\1", word), _DOUBLES.sub(r"\1", word)):
            if fixed != word and _known(fixed):
                return self._read_word(fixed)
        for negation in ("не", "ни"):
            rest = word[len(negation) :]
            if word.startswith(negation) and len(rest) >= 2:
                parts = self._read_word(rest)
                if _known(rest) or any(atoms for atoms, _ in parts):
                    return ((self._atoms_of("не"), True), *parts)
        for i in range(2, len(word) - 1):
            left, right = word[:i], word[i:]
            if _known(left) and _known(right) and (self._atoms_of(left) or self._atoms_of(right)):
                return (*self._read_word(left), *self._read_word(right))
        atoms = self._atoms_of(word)
        if len(word) >= FUZZY_MIN:
            atoms |= self._fuzzy(word)
        return ((atoms, False),)

    def _vowel_slip(self, word: str) -> frozenset[int]:
        """A real word one unstressed vowel away from a word of the lists («хачу» → «хочу»): the
        commonest slip of Russian spelling, which the dictionary cannot see as one."""
        found: set[int] = set()
        for i, letter in enumerate(word):
            other = _VOWEL_SLIPS.get(letter)
            if other and i > 0:
                form = word[:i] + other + word[i + 1 :]
                if form in self._vocabulary:
                    found |= self._atoms_of(form)
        return frozenset(found)

    def _fuzzy(self, word: str) -> frozenset[int]:
        found: set[int] = set()
        for size in (len(word) - 1, len(word), len(word) + 1):
            for form in self._by_start.get((word[:1], size), ()):
                if _one_slip(word, form):
                    found |= self._atoms_of(form)
        return frozenset(found)

    def _clauses(self, text: str) -> Iterator[list[tuple[frozenset[int], bool]]]:
        for clause in _CLAUSE.split(normalize(text[:_SCAN_LIMIT])):
            tokens: list[tuple[frozenset[int], bool]] = []
            for word in _words(clause):
                tokens.extend(self._read(word))
            if tokens:
                yield tokens

    def _match(self, entry: Entry, tokens: list[tuple[frozenset[int], bool]], start: int) -> int | None:
        """The end of the entry's match starting at ``start`` (its first word), or None."""
        position = start
        if start > 0 and tokens[start - 1][1] and not entry.has_negator[0]:
            return None  # «не хочу умирать»: a «не» before the entry's first word
        for term in entry.terms[1:]:
            for step in range(position + 1, min(position + 2 + MAX_GAP, len(tokens))):
                if term & tokens[step][0]:
                    position = step
                    break
                if tokens[step][1]:
                    return None  # a «не» the entry does not have, between its words: «хочу, не хочу умирать»
            else:
                return None
        return position

    def _hits(self, text: str | None) -> list[_Hit]:
        if not text:
            return []
        found: list[_Hit] = []
        for tokens in self._clauses(text):
            hits: list[_Hit] = []
            for start, (atoms, _) in enumerate(tokens):
                for atom in atoms:
                    for index in self._starts.get(atom, ()):
                        entry = self._entries[index]
                        end = self._match(entry, tokens, start)
                        if end is not None:
                            hits.append(_Hit(entry.kind, start, end, entry.where))
            covers = [h for h in hits if h.kind == NOT_A_CRISIS]
            found.extend(
                h
                for h in hits
                if h.kind != NOT_A_CRISIS and not any(c.start <= h.start and h.end <= c.end for c in covers)
            )
        return found

    def kinds(self, text: str | None) -> frozenset[Kind]:
        """The kinds of danger the message speaks of; empty when none."""
        return frozenset(Kind(h.kind) for h in self._hits(text))

    def detect(self, text: str | None) -> bool:
        return bool(self._hits(text))

    def explain(self, text: str | None) -> list[str]:
        """Which list lines raised the alarm (kind, file and line), for staff checking a list; never log it."""
        return sorted({f"{h.kind}: {h.where}" for h in self._hits(text)})


def _fix_letters(word: str) -> str:
    return word.translate(_LOOKALIKE) if _is_russian(word) else word
