"""Identifiers and the shared shapes that messages are built from.

These are wire shapes, not game logic: ranges checked here are the protocol's limits
(GAME.md), so an out-of-range value never reaches the rules.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal, NewType

from protocol.errors import invalid

SessionId = NewType("SessionId", str)
PlayerId = NewType("PlayerId", str)
NarrationId = NewType("NarrationId", str)
GameId = NewType("GameId", str)


def game_id(session: SessionId) -> GameId:
    """A table plays one game; the game's id is its session's, with its own prefix."""
    return GameId("g_" + session.removeprefix("s_"))


Lang = Literal["ko", "en"]
Phase = Literal["lobby", "picking", "tasting", "over", "closed"]
NarrationKind = Literal["entrance", "tasting", "finale"]
NarrationSource = Literal["llm", "fallback", "mixed"]

ROUNDS = (1, 10)
SECONDS = (15, 120)
SPICE = (0, 4)
BOWL_SIZE = (3, 6)
MAX_PLAYERS = 6
CODE_LENGTH = 6
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Join-code letters: no 0/O, 1/I/L look-alikes."""
NAME_LENGTH = 16


INVISIBLE = frozenset(
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers: letters that draw nothing
    "\u2800"  # braille pattern blank
    "\u034f\u17b4\u17b5"  # combining grapheme joiner, Khmer inherent vowels
    "\U0001d159\U0001d173\U0001d174\U0001d175\U0001d176\U0001d177\U0001d178\U0001d179"
    "\U0001d17a"  # musical null notehead and formatting marks
)
"""Characters of visible categories that draw nothing: a name of them looks empty."""
MAX_MARKS = 2
"""Combining marks kept on one character (enough for any language after NFC; more is a
tower of diacritics drawn over the neighbours' text)."""


def visible_text(text: str) -> str:
    """`text` as it should be shown: NFC, on one line, spaces collapsed, without control,
    format or invisible characters, marks without a character to sit on, or marks beyond
    `MAX_MARKS` on one character."""
    kept: list[str] = []
    marks = MAX_MARKS  # no character yet: a leading mark has nothing to sit on
    for ch in unicodedata.normalize("NFC", text):
        kind = unicodedata.category(ch)
        if kind[0] == "M":
            if marks < MAX_MARKS and ch not in INVISIBLE:
                kept.append(ch)
            marks += 1
        elif kind == "Zs" or ch in "\t\n\r":
            kept.append(" ")
            marks = MAX_MARKS
        elif kind[0] in "CZ" or ch in INVISIBLE:
            continue
        else:
            kept.append(ch)
            marks = 0
    return " ".join("".join(kept).split())


def clean_name(name: str) -> str:
    """A player name safe to show and to put in a prompt: printable, one line, bounded."""
    return visible_text(name)[:NAME_LENGTH]


def check_range(field: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise invalid(field, f"must be between {low} and {high}")


@dataclass(frozen=True, slots=True)
class PlayerView:
    id: PlayerId
    name: str


@dataclass(frozen=True, slots=True)
class Settings:
    """A table's settings. In `session.create` every field is optional (defaults apply)."""

    rounds: int | None = None
    seconds: int | None = None
    lang: Lang | None = None

    def __post_init__(self) -> None:
        if self.rounds is not None:
            check_range("rounds", self.rounds, ROUNDS)
        if self.seconds is not None:
            check_range("seconds", self.seconds, SECONDS)


@dataclass(frozen=True, slots=True)
class Bowl:
    ingredients: tuple[str, ...]
    spice: int

    def __post_init__(self) -> None:
        low, high = BOWL_SIZE
        if not low <= len(self.ingredients) <= high:
            raise invalid("ingredients", f"a bowl holds {low} to {high} ingredients")
        if len(set(self.ingredients)) != len(self.ingredients):
            raise invalid("ingredients", "an ingredient appears twice")
        check_range("spice", self.spice, SPICE)


@dataclass(frozen=True, slots=True)
class CustomerView:
    id: str
    name: str
    story: str
    name_en: str | None = None
    story_en: str | None = None


@dataclass(frozen=True, slots=True)
class Points:
    """One scoring rule's contribution to a bowl's score."""

    rule: str
    points: int


@dataclass(frozen=True, slots=True)
class Result:
    player: PlayerId
    score: int
    place: int
    breakdown: tuple[Points, ...]
    bowl: Bowl | None = None
    """None when the player submitted no bowl (score 0)."""


@dataclass(frozen=True, slots=True)
class RankEntry:
    player: PlayerId
    name: str
    total: int
    place: int


@dataclass(frozen=True, slots=True)
class SeatView:
    id: PlayerId
    name: str
    total: int
    away: bool
    submitted: bool


@dataclass(frozen=True, slots=True)
class NarrationView:
    """The current (or last) narration; `source` is absent while it is still streaming."""

    nid: NarrationId
    kind: NarrationKind
    text: str
    source: NarrationSource | None = None


@dataclass(frozen=True, slots=True)
class TableView:
    """The whole table as one player may see it: other players' bowls stay hidden until
    `round.resolved`; `bowl` is the viewer's own bowl for the current round."""

    code: str
    phase: Phase
    settings: Settings
    players: tuple[SeatView, ...]
    round: int
    host: PlayerId | None = None
    customer: CustomerView | None = None
    deadline: int | None = None
    bowl: Bowl | None = None
    results: tuple[Result, ...] | None = None
    narration: NarrationView | None = None
    ranking: tuple[RankEntry, ...] | None = None
    restored: bool | None = None
