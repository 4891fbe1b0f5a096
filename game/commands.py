"""What can happen to a table: the inputs of the rules.

Player commands carry the acting player; time comes in as `now` (ms since the epoch), so
the rules never read a clock and the same inputs always give the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.types import Bowl, Lang, NarrationId, NarrationSource, PlayerId


@dataclass(frozen=True, slots=True)
class Join:
    player: PlayerId
    name: str


@dataclass(frozen=True, slots=True)
class Leave:
    player: PlayerId
    reason: str = "left"


@dataclass(frozen=True, slots=True)
class Away:
    player: PlayerId


@dataclass(frozen=True, slots=True)
class Back:
    player: PlayerId


@dataclass(frozen=True, slots=True)
class GraceOver:
    """An away player's grace period ended: they leave if they are still away."""

    player: PlayerId


@dataclass(frozen=True, slots=True)
class ChangeSettings:
    player: PlayerId
    rounds: int | None = None
    seconds: int | None = None
    lang: Lang | None = None


@dataclass(frozen=True, slots=True)
class Start:
    player: PlayerId
    now: int


@dataclass(frozen=True, slots=True)
class Submit:
    player: PlayerId
    round: int
    bowl: Bowl
    now: int


@dataclass(frozen=True, slots=True)
class CloseRound:
    """The round's deadline passed. Stale closes (round already over) change nothing."""

    round: int
    now: int


@dataclass(frozen=True, slots=True)
class NarrateEnd:
    nid: NarrationId
    text: str
    source: NarrationSource
    now: int


Command = (
    Join
    | Leave
    | Away
    | Back
    | GraceOver
    | ChangeSettings
    | Start
    | Submit
    | CloseRound
    | NarrateEnd
)
