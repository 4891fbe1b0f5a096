"""The two matchers behind the word filter (`llm/lexicon.py`), on folded text
(`llm/lexicon_fold.py`): Korean by substring of the skeleton, English by whole word.

Until the text is final, some places cannot be judged yet because the text goes on: a Korean
candidate is then `PENDING` (a spaced match whose word may not have ended, a match an allowed
word may still cover), an English word `unfinished` (it may still grow).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

from llm.lexicon_fold import INITIALS, SKELETON, initial, is_syllable

MAX_GAP = 3
"""Separator characters allowed between two syllables (or letters) of one spaced word."""


class Verdict(Enum):
    MATCH = "match"
    NONE = "none"
    PENDING = "pending"


# Korean ---------------------------------------------------------------------------------


class _Node:
    """A trie node over folded syllables; an entry's lone consonant is a wildcard for any
    syllable with that initial, and a lone consonant in the text matches any syllable of
    an entry with that initial (초성체)."""

    __slots__ = ("by_initial", "jamo", "syllables", "word")

    def __init__(self) -> None:
        self.syllables: dict[str, _Node] = {}
        self.jamo: dict[str, _Node] = {}
        self.by_initial: dict[str, list[_Node]] = {}
        self.word: str | None = None

    def add(self, key: str, word: str) -> None:
        node = self
        for char in key:
            kids = node.syllables if is_syllable(char) else node.jamo
            node = kids.setdefault(char, _Node())
        if node.word is None:
            node.word = word

    def index(self) -> None:
        for char, kid in self.syllables.items():
            self.by_initial.setdefault(initial(char), []).append(kid)
        for char, kid in self.jamo.items():
            self.by_initial.setdefault(char, []).append(kid)
        for kid in [*self.syllables.values(), *self.jamo.values()]:
            kid.index()

    def after(self, char: str) -> list[_Node]:
        """The nodes one text character leads to."""
        if not is_syllable(char):
            return self.by_initial.get(char, [])
        found = []
        if (kid := self.syllables.get(char)) is not None:
            found.append(kid)
        if self.jamo and (kid := self.jamo.get(initial(char))) is not None:
            found.append(kid)
        return found


def _starts(root: _Node) -> frozenset[str]:
    found = set(root.syllables) | set(root.by_initial)
    for jamo in root.jamo:
        first = INITIALS.index(jamo) * 588
        found.update(chr(0xAC00 + first + rest) for rest in range(588))
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Candidate:
    """Listed syllables found in the folded text from `start` to `last` (indexes)."""

    start: int
    last: int
    word: str
    spaced: bool
    """Separators lie between its syllables."""


class KoreanWords:
    def __init__(self, listed: Mapping[str, str], allowed: set[str]) -> None:
        self._root = _Node()
        for key, word in listed.items():
            self._root.add(key, word)
        self._root.index()
        self.starts = _starts(self._root)
        """The text characters a match can begin with."""
        self._allowed = sorted(allowed)
        self.longest = max(map(len, listed), default=0)
        self.longest_allowed = max(map(len, allowed), default=0)

    def candidates(self, text: str, skeleton: list[int], k: int) -> Iterator[Candidate]:
        """Listed words whose first syllable is the skeleton's `k`th character."""
        at = k
        nodes = self._root.after(text[skeleton[k]])
        only_jamo = not is_syllable(text[skeleton[k]])
        spaced = False
        while nodes:
            for node in nodes:
                if node.word is not None and not (only_jamo and at == k):
                    yield Candidate(skeleton[k], skeleton[at], node.word, spaced)
            at += 1
            if at == len(skeleton) or skeleton[at] - skeleton[at - 1] - 1 > MAX_GAP:
                return
            spaced = spaced or skeleton[at] > skeleton[at - 1] + 1
            char = text[skeleton[at]]
            only_jamo = only_jamo and not is_syllable(char)
            nodes = [kid for node in nodes for kid in node.after(char)]

    def judge(self, found: Candidate, text: str, final: bool) -> Verdict:
        """A spaced match must begin and end with a word (`다시 발견` is no 시발, `씨 발아`
        no 씨발); a match inside an allowed word is none."""
        if found.spaced:
            if found.start > 0 and SKELETON.match(text, found.start - 1):
                return Verdict.NONE
            after = found.last + 1
            if after == len(text) and not final:
                return Verdict.PENDING
            if after < len(text) and SKELETON.match(text, after):
                return Verdict.NONE
        if self._excused(found, text):
            return Verdict.NONE
        if not final and self._may_be_excused(found, text):
            return Verdict.PENDING
        return Verdict.MATCH

    def _excused(self, found: Candidate, text: str) -> bool:
        for word in self._allowed:
            earliest = max(0, found.last - len(word) + 1)
            if any(text.startswith(word, at) for at in range(earliest, found.start + 1)):
                return True
        return False

    def _may_be_excused(self, found: Candidate, text: str) -> bool:
        """An allowed word may still cover it: the syllables from its start run unbroken to
        the end of the text, and fewer of them than the longest allowed word."""
        rest = len(text) - found.start
        return rest < self.longest_allowed and all(
            SKELETON.match(text, at) for at in range(found.start, len(text))
        )


# English --------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9@$*]+")
_LETTER = re.compile("[a-z]")
_GAP = re.compile(f"[^{SKELETON.pattern[1:-1]}]{{1,{MAX_GAP}}}")
"""What may separate the letters of a spelled-out word (`f u c k`, `f.u.c.k`)."""
_LEET = str.maketrans("0134579@$", "oieastgas")


@dataclass(frozen=True, slots=True)
class Word:
    """A word of the folded text from `start` to `end` (indexes), as matched."""

    start: int
    end: int
    text: str
    masked: bool
    """`*` stands for unknown letters (`f**k`, `sh*t`)."""
    unfinished: bool
    """The text may still add to it: it reaches the end, or is spelled out up to there."""


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    core: str
    """The run of letters, digits, `@`, `$` and inner `*`, outer `*` dropped."""
    touching: bool
    """It reaches the end of the text."""


def words(text: str) -> list[Word]:
    """The Latin words of folded text: letter runs with leet digits read as letters, outer
    `*` dropped, and single letters spaced out (`f u c k`, `f*u*c*k`) joined into one."""
    tokens = _tokens(text)
    found: list[Word] = []
    at = 0
    while at < len(tokens):
        token = tokens[at]
        if len(token.core) > 1:
            found.append(_word(token))
            at += 1
            continue
        last = at
        while last + 1 < len(tokens) and _spelled_on(text, tokens[last], tokens[last + 1]):
            last += 1
        letters = "".join(t.core for t in tokens[at : last + 1]).translate(_LEET)
        end = tokens[last].end
        may_go_on = last == len(tokens) - 1 and (
            tokens[last].touching or bool(_GAP.fullmatch(text, end))
        )
        found.append(Word(token.start, end, letters, False, may_go_on))
        at = last + 1
    return found


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for token in _TOKEN.finditer(text):
        raw = token.group()
        core = raw.strip("*")
        if _LETTER.search(core):
            start = token.start() + len(raw) - len(raw.lstrip("*"))
            tokens.append(_Token(start, start + len(core), core, token.end() == len(text)))
    return tokens


def _spelled_on(text: str, letter: _Token, following: _Token) -> bool:
    """`following` is the next letter of a word spelled out from `letter`."""
    return len(following.core) == 1 and bool(_GAP.fullmatch(text, letter.end, following.start))


def _word(token: _Token) -> Word:
    parts = token.core.split("*")
    if len(parts) > 1 and all(len(part) == 1 for part in parts):
        joined = "".join(parts).translate(_LEET)
        return Word(token.start, token.end, joined, False, token.touching)
    masked = len(parts) > 1
    return Word(token.start, token.end, token.core.translate(_LEET), masked, token.touching)


class EnglishWords:
    """Whole-word entries, and prefix entries (written with a trailing `*`)."""

    def __init__(self, listed: Mapping[str, str], allowed: set[str]) -> None:
        self._exact = {key: word for key, word in listed.items() if not key.endswith("*")}
        self._prefixes = {key[:-1]: word for key, word in listed.items() if key.endswith("*")}
        self._allowed = {key for key in allowed if not key.endswith("*")}
        self._prefix = _alternation(self._prefixes)
        self._allowed_prefix = _alternation({key[:-1] for key in allowed if key.endswith("*")})

    def entry(self, word: Word) -> str | None:
        """The listed entry `word` is, if it is one."""
        text = word.text
        if word.masked:
            return self._unmasked(text)
        if text in self._allowed or (self._allowed_prefix and self._allowed_prefix.match(text)):
            return None
        if text in self._exact:
            return self._exact[text]
        prefix = self._prefix.match(text) if self._prefix else None
        return self._prefixes[prefix.group()] if prefix else None

    def _unmasked(self, text: str) -> str | None:
        """The entry a masked word can only be: its letters agree with the entry's, each `*`
        stands for one letter, and at least two letters are shown."""
        if len(text) - text.count("*") < 2:
            return None
        for key, word in self._exact.items():
            if len(key) == len(text) and _agrees(text, key):
                return word
        for key, word in self._prefixes.items():
            if len(text) >= len(key) and _agrees(text[: len(key)], key):
                return word
        return None


def _agrees(masked: str, key: str) -> bool:
    return all(shown in ("*", letter) for shown, letter in zip(masked, key, strict=True))


def _alternation(keys: Mapping[str, str] | set[str]) -> re.Pattern[str] | None:
    ordered = sorted(keys, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None
