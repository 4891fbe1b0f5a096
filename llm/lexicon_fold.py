"""Text as the word filter reads it (`llm/lexicon.py`): folded to one spelling per sound and
shape, with the place of every folded character in the text it came from.

Folding is per character, so a scan costs one dictionary lookup per character once a
character has been seen: NFKC (full-width letters become ASCII, half-width jamo become
compatibility jamo), lower case, invisible characters dropped (zero-width and BiDi controls,
other format characters, combining marks, Hangul fillers), and every Hangul syllable's
initial consonant made plain (ㄲ→ㄱ ㄸ→ㄷ ㅃ→ㅂ ㅆ→ㅅ ㅉ→ㅈ), as are lone consonant jamo. Conjoining
jamo (the decomposed form) are composed into syllables afterwards, as NFKC would.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SYLLABLE_FIRST, SYLLABLE_LAST = "가", "힣"
_BASE = 0xAC00
_PER_INITIAL = 21 * 28
INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
"""The compatibility jamo of the 19 initial consonants, in Unicode's order."""
_PLAIN_INDEX = {1: 0, 4: 3, 8: 7, 10: 9, 13: 12}
"""Tensed initial → its plain consonant (indexes into `INITIALS`)."""
_PLAIN_JAMO = {INITIALS[t]: INITIALS[p] for t, p in _PLAIN_INDEX.items()}
JAMO = frozenset(INITIALS) - frozenset(_PLAIN_JAMO)
"""The lone consonants as folded text has them: the 14 plain ones."""
SKELETON = re.compile(f"[{SYLLABLE_FIRST}-{SYLLABLE_LAST}{''.join(sorted(JAMO))}]")
"""One character of the Korean skeleton: a syllable or a lone consonant."""

PLACEHOLDER = re.compile("⟨[A-Z][0-9]+⟩")
"""A stand-in for a player's name or number: not the model's words, so not read."""
PARTIAL_PLACEHOLDER = re.compile("⟨(?:[A-Z][0-9]*)?$")
"""The beginning of a placeholder at the end of an unfinished text."""

_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
_CACHE_LIMIT = 20_000
_folded: dict[str, str] = {}


def plain(syllable: str) -> str:
    """The syllable with its initial consonant made plain (씨 → 시)."""
    initial, rest = divmod(ord(syllable) - _BASE, _PER_INITIAL)
    return chr(_BASE + _PLAIN_INDEX.get(initial, initial) * _PER_INITIAL + rest)


def initial(syllable: str) -> str:
    """The (plain) initial consonant of a folded syllable, as a compatibility jamo."""
    return INITIALS[(ord(syllable) - _BASE) // _PER_INITIAL]


def is_syllable(char: str) -> bool:
    return SYLLABLE_FIRST <= char <= SYLLABLE_LAST


def fold_char(char: str) -> str:
    """What one character of text becomes: zero, one or a few folded characters."""
    found = _folded.get(char)
    if found is None:
        if len(_folded) >= _CACHE_LIMIT:
            _folded.clear()
        found = _folded[char] = "".join(_fold(c) for c in unicodedata.normalize("NFKC", char))
    return found


def _fold(char: str) -> str:
    char = char.lower()
    if len(char) != 1:  # a few capitals lower-case into a letter and a combining mark
        return "".join(_fold(c) for c in char)
    if char in _FILLERS or unicodedata.category(char) in _DROPPED_CATEGORIES:
        return ""
    if is_syllable(char):
        return plain(char)
    return _PLAIN_JAMO.get(char, char)


@dataclass(frozen=True, slots=True)
class Folded:
    """Folded text and, for each of its characters, the index in the source text of the
    character it came from."""

    text: str
    origin: list[int]


def fold(source: str) -> Folded:
    """`source` folded, placeholders left out."""
    chars: list[str] = []
    origin: list[int] = []
    for start, end in _readable_spans(source):
        for index in range(start, end):
            folded = fold_char(source[index])
            if len(folded) == 1:
                chars.append(folded)
                origin.append(index)
            elif folded:
                chars.extend(folded)
                origin.extend([index] * len(folded))
    text = "".join(chars)
    if any("\u1100" <= c <= "\u11ff" for c in text):
        return _composed(chars, origin)
    return Folded(text, origin)


def _readable_spans(source: str) -> list[tuple[int, int]]:
    """The (start, end) spans of `source` outside placeholders."""
    if "⟨" not in source:
        return [(0, len(source))]
    spans, at = [], 0
    for found in PLACEHOLDER.finditer(source):
        spans.append((at, found.start()))
        at = found.end()
    spans.append((at, len(source)))
    return spans


_LEAD = range(0x1100, 0x1113)
_VOWEL = range(0x1161, 0x1176)
_TAIL = range(0x11A8, 0x11C3)


def _composed(chars: list[str], origin: list[int]) -> Folded:
    """Conjoining jamo composed as NFKC composes them: leading consonant + vowel (+ final)
    into a syllable, a final added to the syllable before it; a lone leading consonant
    becomes a compatibility jamo, other lone jamo stay (separators)."""
    out: list[str] = []
    places: list[int] = []
    at = 0
    while at < len(chars):
        code, first = ord(chars[at]), origin[at]
        following = ord(chars[at + 1]) if at + 1 < len(chars) else 0
        if code in _LEAD and following in _VOWEL:
            syllable = _BASE + ((code - 0x1100) * 21 + following - 0x1161) * 28
            at += 2
            if at < len(chars) and ord(chars[at]) in _TAIL:
                syllable += ord(chars[at]) - 0x11A7
                at += 1
            out.append(plain(chr(syllable)))
            places.append(first)
            continue
        if code in _TAIL and out and is_syllable(out[-1]) and (ord(out[-1]) - _BASE) % 28 == 0:
            out[-1] = chr(ord(out[-1]) + code - 0x11A7)
        else:
            lone = INITIALS[code - 0x1100] if code in _LEAD else chars[at]
            out.append(_PLAIN_JAMO.get(lone, lone))
            places.append(first)
        at += 1
    return Folded("".join(out), places)
