"""`Lexicon`: the word filter for narration text, Korean and English, cheap enough to run on
every streamed chunk.

Lists. `llm/words/ko.txt`, `en.txt` (listed words) and `allow.txt` (allowed words) ship in
the package; an operator adds files with `Lexicon.load(extra)`, where a line `!word` is an
allowed word and any other line a listed one. One entry per line, UTF-8, `#` comments and
blank lines ignored. An entry with Hangul is Korean, one of Latin letters English.

Matching rules:

- The text is folded first (`llm/lexicon_fold.py`): NFKC (full-width letters become ASCII),
  lower case, zero-width and BiDi control characters (and other invisible ones) dropped.
  Placeholders, `⟨` + a capital + digits + `⟩` (`⟨P1⟩`), stand for players' names and numbers,
  not for the model's words, and are dropped too: `씨⟨P1⟩발` reads `씨발`.
- Korean matches by substring of the skeleton: Hangul syllables and lone consonants only;
  everything else (spaces, punctuation, symbols, digits, Latin letters) separates.
  - Every syllable's initial is made plain (ㄲ→ㄱ ㄸ→ㄷ ㅃ→ㅂ ㅆ→ㅅ ㅉ→ㅈ), in the text and in the
    entries, so 씨발, 시발, 씨빨 and 시빨 are one entry.
  - 초성체: a lone consonant in the text matches a syllable of an entry with that initial
    (ㅅㅂ, ㅅ발 and 씨ㅂ are 시발; ㅂㅅ is 병신). A match of lone consonants only has two or more.
  - Up to three separators may stand between two syllables of a match (`씨 발`, `씨.발`,
    `시 . 발`), but such a spaced match must begin at the start of a word and end at the end
    of one: `다시 발견했다` and `씨 발아` do not match 시발, `그래 씨 발` does.
  - A match that lies inside an occurrence of an allowed word is none (`시발점` is fine,
    `시발` is not). Allowed words match unspaced syllables exactly.
  - Bare 보지 and 자지 are not listed: they are also ordinary verb endings (`보지 않았다`,
    `자지 않고`), which no word list can tell apart; the guard model judges meaning.
- English matches by word: a word is a run of Latin letters, where leet digits inside a word
  read as letters (`sh1t`), `*` inside a word stands for one hidden letter (`f**k`, `sh*t`),
  and single letters spelled out with up to three separators between them are one word
  (`f u c k`, `f.u.c.k`, `f*u*c*k`). An entry matches a whole word, or with a trailing `*`
  every word that begins with it (`fuck*`), so `class`, `assess` and `Scunthorpe` are safe;
  allowed English words (`rapeseed`) excuse the words they equal.

Streaming. `scan(text, final, before)` reads the text not yet released (`before` is what was
released just before it: only its last `CONTEXT` characters are read). Until `final`, `safe`
holds back what a continuation could still make part of a match: the last few syllables
(the longest entry's or allowed word's length) while they may join what comes, a word that
has not ended, spelled-out single letters that may go on, a placeholder not yet closed.
Everything before it can be released: no later text makes it part of a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from llm.lexicon_fold import PARTIAL_PLACEHOLDER, SKELETON, Folded, fold, is_syllable
from llm.lexicon_match import MAX_GAP, EnglishWords, KoreanWords, Verdict, words

CONTEXT = 32
"""Characters of the released text read before the text scanned."""
BUILT_IN = ("ko.txt", "en.txt")
ALLOWED = "allow.txt"
_ENGLISH_ENTRY = re.compile(r"[a-z]+\*?")
_HANGUL = re.compile("[\u1100-\u11ff\u3131-\u318e\uac00-\ud7a3]")


class LexiconError(ValueError):
    """A word list that cannot be used; the message names the file (and line)."""


@dataclass(frozen=True, slots=True)
class Scan:
    found: str | None
    """The listed entry matched, as the list writes it, or None."""
    safe: int
    """How many leading characters of the text can be released now; when something was
    found, how many come before the match."""


class Lexicon:
    def __init__(self, listed: Iterable[str], allowed: Iterable[str] = ()) -> None:
        """Raises `LexiconError` for an entry that is neither Korean nor English."""
        korean: dict[str, str] = {}
        english: dict[str, str] = {}
        korean_allowed: set[str] = set()
        english_allowed: set[str] = set()
        for entry in listed:
            is_korean, key = _key(entry)
            (korean if is_korean else english).setdefault(key, entry.strip())
        for entry in allowed:
            is_korean, key = _key(entry)
            (korean_allowed if is_korean else english_allowed).add(key)
        self._korean = KoreanWords(korean, korean_allowed)
        self._english = EnglishWords(english, english_allowed)
        self._held = max(self._korean.longest, self._korean.longest_allowed)

    @classmethod
    def load(cls, extra: Sequence[Path] = ()) -> Lexicon:
        """The built-in lists, then each of `extra` (`!word` allows a word). Raises
        `LexiconError` naming the file for one missing, unreadable or not UTF-8, and the line
        for a bad entry."""
        shipped = resources.files("llm") / "words"
        listed = [line for name in BUILT_IN for line in _lines(shipped / name, f"llm/words/{name}")]
        allowed = _lines(shipped / ALLOWED, f"llm/words/{ALLOWED}")
        for path in extra:
            for where, line in _lines(path, str(path)):
                exception = line.startswith("!")
                (allowed if exception else listed).append((where, line.removeprefix("!")))
        for where, line in [*listed, *allowed]:
            try:
                _key(line)
            except LexiconError as exc:
                raise LexiconError(f"{where}: {exc}") from None
        return cls((line for _, line in listed), (line for _, line in allowed))

    def find(self, text: str) -> str | None:
        """The first listed entry in the whole `text`, or None."""
        return self.scan(text, final=True).found

    def scan(self, text: str, final: bool, before: str = "") -> Scan:
        """Read `text`, the narration not yet released; `before` ends with what was released
        just before it. Until `final`, only what no continuation can change is decided."""
        end = len(text)
        if not final and (partial := PARTIAL_PLACEHOLDER.search(text)) is not None:
            end = partial.start()
        context = before[-CONTEXT:]
        folded = fold(context + text[:end])
        korean, korean_hold = self._korean_scan(folded, final, len(context))
        english, english_hold = self._english_scan(folded, final, len(context))
        found = min((f for f in (korean, english) if f is not None), default=None)
        if found is not None:
            return Scan(found[1], found[0])
        if final:
            return Scan(None, len(text))
        holds = [hold for hold in (korean_hold, english_hold) if hold is not None]
        return Scan(None, min([end, *holds]))

    def _korean_scan(
        self, folded: Folded, final: bool, offset: int
    ) -> tuple[tuple[int, str] | None, int | None]:
        """The first Korean match (where it starts in the text, the entry), and from where
        the text must be held back (None: nowhere)."""
        text, origin = folded.text, folded.origin
        skeleton = [found.start() for found in SKELETON.finditer(text)]
        starts = self._korean.starts
        for k, at in enumerate(skeleton):
            if text[at] not in starts:
                continue
            for candidate in self._korean.candidates(text, skeleton, k):
                if origin[candidate.last] < offset:
                    continue  # released already, judged then
                if self._korean.judge(candidate, text, final) is Verdict.MATCH:
                    return (max(0, origin[candidate.start] - offset), candidate.word), None
        return None, self._korean_hold(folded, skeleton, offset)

    def _korean_hold(self, folded: Folded, skeleton: list[int], offset: int) -> int | None:
        """The last syllables that may still join a match: up to the longest entry's (or
        allowed word's) length of them, chained by short gaps to the end of the text."""
        text = folded.text
        if not skeleton or len(text) - 1 - skeleton[-1] > MAX_GAP:
            return None
        first = len(skeleton) - 1
        while (
            first > 0
            and len(skeleton) - first < self._held
            and skeleton[first] - skeleton[first - 1] - 1 <= MAX_GAP
        ):
            first -= 1
        return max(0, folded.origin[skeleton[first]] - offset)

    def _english_scan(
        self, folded: Folded, final: bool, offset: int
    ) -> tuple[tuple[int, str] | None, int | None]:
        """The first English match, and from where the text must be held back."""
        hold = None
        for word in words(folded.text):
            if folded.origin[word.end - 1] < offset:
                continue
            if word.unfinished and not final:
                hold = word.start if hold is None else hold
                continue
            entry = self._english.entry(word)
            if entry is not None:
                return (max(0, folded.origin[word.start] - offset), entry), None
        return None, None if hold is None else max(0, folded.origin[hold] - offset)


def _key(entry: str) -> tuple[bool, str]:
    """(Korean?, the entry folded as the text is). Raises `LexiconError`."""
    key = fold(entry.strip()).text
    if _HANGUL.search(key):
        if not all(SKELETON.match(char) for char in key):
            raise LexiconError(f"{entry!r}: a Korean entry is Hangul only, without spaces")
        if len(key) < 2 and not is_syllable(key):
            raise LexiconError(f"{entry!r}: one lone consonant would match too much")
        return True, key
    if not _ENGLISH_ENTRY.fullmatch(key):
        raise LexiconError(
            f"{entry!r}: an English entry is one word of Latin letters, `*` at its end"
        )
    return False, key


def _lines(source: Traversable | Path, name: str) -> list[tuple[str, str]]:
    """(file:line, entry) for each entry of a word list."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise LexiconError(f"{name}: cannot read the word list ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{name}: not UTF-8 (byte {exc.start}: {exc.reason})") from None
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            found.append((f"{name}:{number}", entry))
    return found
