"""What the house must do when a table changes, as data: `effects(before, after, events)`.

The rules say what happened (events); this says what follows outside the table: timers to
set or cancel, narrations to start, hurry or stop, records to keep. It is one pure function
of the table before and after a commit, so the service only carries effects out, and a table
restored from a snapshot is rearmed by the same function, as a change from nothing
(`before=None`): whatever it waits for is set again.

Timers follow the table's state, not its events: a round's timer exists while the table is
picking in that round, an away player's grace while they are seated and away. So a commit
that skips a step (a round that opens and closes at once) never leaves a timer behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from game.state import Table
from protocol.events import Event, GameOver, NarrationEnd, RoundResolved, SessionClosed
from protocol.types import NarrationId, PlayerId


@dataclass(frozen=True, slots=True)
class RoundDue:
    """The picking of `round` ends: the round closes with the bowls it has."""

    round: int


@dataclass(frozen=True, slots=True)
class GraceEnds:
    """An away player's grace period ends: they leave if they are still away."""

    player: PlayerId


@dataclass(frozen=True, slots=True)
class NarrationWatch:
    """The holder of narration `nid` stopped renewing it: another process takes it over."""

    nid: NarrationId


Timer = RoundDue | GraceEnds | NarrationWatch

ROUND, GRACE, WATCH = "round", "grace", "narration"
"""The kinds timers are stored under."""


def timer_key(timer: Timer) -> tuple[str, str]:
    """The (kind, key) a timer is stored under, beside its table's session."""
    match timer:
        case RoundDue(round=number):
            return ROUND, str(number)
        case GraceEnds(player=player):
            return GRACE, player
        case NarrationWatch(nid=nid):
            return WATCH, nid


def timer_of(kind: str, key: str) -> Timer | None:
    """The timer stored under (kind, key); None for one this release does not know."""
    if kind == ROUND and key.isascii() and key.isdigit():
        return RoundDue(int(key))
    if kind == GRACE:
        return GraceEnds(PlayerId(key))
    if kind == WATCH:
        return NarrationWatch(NarrationId(key))
    return None


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Set (or move) `timer` to fall due at `due` (ms since the epoch)."""

    timer: Timer
    due: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: Timer


@dataclass(frozen=True, slots=True)
class StartNarration:
    nid: NarrationId


@dataclass(frozen=True, slots=True)
class HurryNarration:
    """A narration waits behind the streaming one: the streaming one should wrap up."""


@dataclass(frozen=True, slots=True)
class StopNarration:
    """The table closed: whatever it was telling stops."""


@dataclass(frozen=True, slots=True)
class KeepSnapshot:
    """Keep a snapshot of the table: now (a round or the game ended), or when due."""

    now: bool = False


@dataclass(frozen=True, slots=True)
class RecordRound:
    """A round resolved: its bowls and scores go into the game's record."""


@dataclass(frozen=True, slots=True)
class RecordNarration:
    end: NarrationEnd


@dataclass(frozen=True, slots=True)
class RecordGameOver:
    pass


@dataclass(frozen=True, slots=True)
class RecordClosed:
    pass


@dataclass(frozen=True, slots=True)
class Forget:
    """The table closed: let the live store forget it after a while."""


Effect = (
    SetTimer
    | CancelTimer
    | StartNarration
    | HurryNarration
    | StopNarration
    | KeepSnapshot
    | RecordRound
    | RecordNarration
    | RecordGameOver
    | RecordClosed
    | Forget
)


def effects(
    before: Table | None, after: Table, events: Sequence[Event], now: int, grace_ms: int
) -> tuple[Effect, ...]:
    """What follows a commit that took `before` to `after` with `events` (`now` in ms).

    `before=None`: `after` was just restored; its timers and its streaming narration are set
    again, and nothing is recorded (it was recorded before it was lost)."""
    records = tuple(_records(events)) if before is not None else ()
    return (
        *records,
        *_round_timer(before, after, now),
        *_grace_timers(before, after, now + grace_ms),
        *_narration(before, after, events),
    )


def _records(events: Sequence[Event]) -> Iterator[Effect]:
    if events:
        yield KeepSnapshot()
    for event in events:
        match event:
            case RoundResolved():
                yield RecordRound()
                yield KeepSnapshot(now=True)
            case NarrationEnd():
                yield RecordNarration(event)
            case GameOver():
                yield RecordGameOver()
                yield KeepSnapshot(now=True)
            case SessionClosed():
                yield RecordClosed()
                yield Forget()


def _round_due(table: Table | None) -> RoundDue | None:
    if table is None or table.phase != "picking" or table.deadline is None:
        return None
    return RoundDue(table.round)


def _round_timer(before: Table | None, after: Table, now: int) -> Iterator[Effect]:
    was, due = _round_due(before), _round_due(after)
    if was is not None and was != due:
        yield CancelTimer(was)
    moved = before is None or before.deadline != after.deadline
    if due is not None and after.deadline is not None and (was != due or moved):
        yield SetTimer(due, max(after.deadline, now))


def _away(table: Table | None) -> list[PlayerId]:
    return [s.player for s in table.seats if s.away] if table is not None else []


def _grace_timers(before: Table | None, after: Table, due: int) -> Iterator[Effect]:
    was, now_away = _away(before), _away(after)
    for player in was:
        if player not in now_away:
            yield CancelTimer(GraceEnds(player))
    for player in now_away:
        if player not in was:
            yield SetTimer(GraceEnds(player), due)


def _narration(before: Table | None, after: Table, events: Sequence[Event]) -> Iterator[Effect]:
    if any(isinstance(e, SessionClosed) for e in events):
        yield StopNarration()
        return
    streaming = after.streaming
    if streaming is not None and streaming != (before.streaming if before else None):
        yield StartNarration(streaming)
    if after.pending is not None and any(isinstance(e, RoundResolved) for e in events):
        yield HurryNarration()
