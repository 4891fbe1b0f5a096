"""The table's state: an immutable value that the rules replace, never mutate.

Immutability is what lets the in-memory engine hand the same object to every reader, and
lets a rule that fails leave the table exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from game.catalog import CustomerId
from protocol.types import (
    Bowl,
    Lang,
    NarrationId,
    NarrationKind,
    NarrationSource,
    Phase,
    PlayerId,
    RankEntry,
    Result,
    SessionId,
)

DEFAULT_ROUNDS = 5
DEFAULT_SECONDS = 45
DEFAULT_LANG: Lang = "ko"


@dataclass(frozen=True, slots=True)
class TableSettings:
    rounds: int = DEFAULT_ROUNDS
    seconds: int = DEFAULT_SECONDS
    lang: Lang = DEFAULT_LANG


@dataclass(frozen=True, slots=True)
class Seat:
    """A seated player. Seats keep join order: the first seat is the longest seated."""

    player: PlayerId
    name: str
    away: bool = False
    total: int = 0


@dataclass(frozen=True, slots=True)
class Submission:
    bowl: Bowl
    at: int
    """When the final version was submitted (ms); earlier wins a tie."""


@dataclass(frozen=True, slots=True)
class NarrationState:
    """The table's narration: which one, and once it ended, its text and who told it."""

    nid: NarrationId
    kind: NarrationKind
    round: int
    text: str = ""
    """The whole text once it ended; while it streams, the text is in the engine's narration
    lane (`Told`), and this stays empty."""
    source: NarrationSource | None = None
    """None while streaming."""
    told_by: tuple[NarrationSource, ...] = ()
    """Who wrote `text` (each source once). Set only in a stored snapshot's table, which
    keeps the lane's text of a streaming narration (`storage.engine.folded`)."""

    @property
    def streaming(self) -> bool:
        return self.source is None


@dataclass(frozen=True, slots=True)
class Told:
    """What a streaming narration has told so far. It lives beside the table, in the engine's
    narration lane, never in the table: a piece of text is not a change of the table's state.
    The table takes the whole text when the narration ends."""

    nid: NarrationId
    text: str = ""
    by: tuple[NarrationSource, ...] = ()
    """Who wrote the text so far (each source once)."""


def _frozen_bowls() -> Mapping[PlayerId, Submission]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Table:
    session: SessionId
    code: str
    seed: int
    settings: TableSettings = TableSettings()
    phase: Phase = "lobby"
    seats: tuple[Seat, ...] = ()
    host: PlayerId | None = None
    round: int = 0
    customers: tuple[CustomerId, ...] = ()
    """The game's customers in order, drawn at start with the seeded RNG."""
    deadline: int | None = None
    bowls: Mapping[PlayerId, Submission] = field(default_factory=_frozen_bowls)
    results: tuple[Result, ...] | None = None
    narration: NarrationState | None = None
    pending: NarrationKind | None = None
    """A narration waiting for the streaming one to end."""
    ranking: tuple[RankEntry, ...] | None = None

    @property
    def customer(self) -> CustomerId | None:
        return self.customers[self.round - 1] if 0 < self.round <= len(self.customers) else None

    @property
    def streaming(self) -> NarrationId | None:
        """The narration streaming now, if one is."""
        narration = self.narration
        return narration.nid if narration is not None and narration.streaming else None

    def seat(self, player: PlayerId) -> Seat | None:
        return next((s for s in self.seats if s.player == player), None)

    def present(self) -> tuple[Seat, ...]:
        """Seated players who are connected."""
        return tuple(s for s in self.seats if not s.away)
