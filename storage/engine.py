"""The engine: where live tables, their event logs and the hub's coordination live.

One interface, two implementations (`MemoryEngine` for one process, `RedisEngine` for many)
that pass one contract suite (`tests/storage/test_engine_contract.py`). The guarantees below
are that suite's subject; the hub relies on nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from game.state import Table, Told
from protocol.events import Event, Logged, NarrationDelta
from protocol.types import NarrationId, NarrationSource, PlayerId, SessionId


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A table at a version. `seq` is the last event logged with it (0 before any)."""

    table: Table
    version: int
    seq: int
    told: Told | None = None
    """What the narration lane holds of the table's streaming narration, up to `seq` (from
    `load`: present exactly while the table streams one)."""


def lane(table: Table, told: Told | None) -> Told | None:
    """What the lane holds beside `table`: `told` while the table streams that narration, an
    empty lane when it streams another, nothing when it streams none."""
    streaming = table.streaming
    if streaming is None:
        return None
    return told if told is not None and told.nid == streaming else Told(streaming)


def folded(snapshot: Snapshot) -> Table:
    """The table with the lane's text in its streaming narration: the one value a stored
    snapshot keeps (`unfolded` takes it apart again)."""
    narration, told = snapshot.table.narration, lane(snapshot.table, snapshot.told)
    if narration is None or told is None:
        return snapshot.table
    return replace(snapshot.table, narration=replace(narration, text=told.text, told_by=told.by))


def unfolded(table: Table, version: int, seq: int) -> Snapshot:
    """A snapshot from a stored table (`folded`): a streaming narration's text goes back to
    the lane."""
    narration = table.narration
    if narration is None or not narration.streaming:
        return Snapshot(table, version, seq)
    told = Told(narration.nid, narration.text, narration.told_by)
    bare = replace(table, narration=replace(narration, text="", told_by=()))
    return Snapshot(bare, version, seq, told)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A timer on a session. (session, kind, key) names it; setting it again moves it."""

    session: SessionId
    kind: str
    key: str
    due: int
    """Milliseconds since the epoch."""


CLAIM_LEASE_MS = 10_000
RESTORED_SEQ_GAP = 1_000_000
"""How far a table restored from a stored snapshot jumps ahead of the snapshot's `seq`, so no
resume mistakes new events for lost ones."""


def restored_since(seen: int, current: int) -> bool:
    """Whether a table now at `current` was restored since a client saw `seen`: no live table
    logs half a gap of events, while a client may have seen some that the snapshot lacks."""
    return current - seen >= RESTORED_SEQ_GAP // 2


class VersionConflict(Exception):
    """Someone committed since this table was loaded: load again and re-apply."""


class CodeTaken(Exception):
    """The join code already names a live session."""


class NotStreaming(Exception):
    """The narration lane refused a piece: the table is gone, or that narration is not the
    one it streams (it ended, or another took its place)."""


class NotTeller(Exception):
    """The narration lane refused a piece from a teller that does not hold the narration's
    lease (`narration_lease`): it lapsed, or another process took the narration over."""


def narration_lease(session: SessionId, nid: NarrationId) -> str:
    """The lease of the process that tells narration `nid` of `session`. The session is its
    hash tag: on a Redis Cluster it lives on the table's shard, where the lane checks it."""
    return f"narration:{{{session}}}:{nid}"


class EngineUnavailable(Exception):
    """The engine's store cannot be reached right now; retrying later can succeed."""


Listener = Callable[[Sequence[Logged]], None]
"""Receives committed events of one session, in `seq` order. Must not block."""
LostListener = Callable[[SessionId], None]
"""Told of a followed session whose events can no longer be handed out in order. Must not
block."""


class Engine(Protocol):
    async def create(self, table: Table) -> Snapshot:
        """Store a new session at version 1, seq 0, and claim its join code.

        Raises `CodeTaken` if the code names another live session."""
        ...

    async def restore(self, snapshot: Snapshot) -> bool:
        """Put a lost session back at `snapshot`'s table, version and seq, with an empty log,
        claiming its join code if that is free: a table rebuilt from a stored snapshot.
        False (and nothing changes) when the session exists: it was not lost, or another
        process restored it first."""
        ...

    async def find_code(self, code: str) -> SessionId | None:
        """The live session a join code names."""
        ...

    async def load(self, session: SessionId) -> Snapshot | None: ...

    async def sessions(self, limit: int) -> list[SessionId]:
        """Live sessions, at most `limit` of them, in no particular order: what an operator's
        census of the tables (metrics, the table inspector) starts from."""
        ...

    async def commit(
        self, session: SessionId, expected_version: int, table: Table, events: Sequence[Event]
    ) -> tuple[Logged, ...]:
        """Atomically: check the version, store the table at version + 1, append the events
        with the next `seq`s and publish them to subscribers. The lane's text stays while
        `table` streams the same narration, and is dropped when it streams another or none.

        Raises `VersionConflict` (and changes nothing) when the stored version differs.
        Two concurrent commits never interleave or lose events: `seq` is gapless."""
        ...

    async def append(
        self,
        session: SessionId,
        delta: NarrationDelta,
        source: NarrationSource,
        teller: str | None = None,
    ) -> Logged:
        """The narration lane: log `delta` with the next `seq`, add its text to what the
        streaming narration told (`Snapshot.told`, credited to `source`) and publish it,
        without a version check and without touching the table.

        Atomic with commits: the log stays gapless and ordered, and `load` gives the text
        up to exactly its `seq`. A commit that starts another narration (or ends this one)
        empties the lane. Raises `NotStreaming` (and changes nothing) unless `delta.nid` is
        the table's streaming narration.

        With `teller`, the piece is fenced by the narration's lease (`narration_lease`):
        raises `NotTeller` (and changes nothing) unless `teller` holds it, so a teller that
        stalled past its lease cannot add text after the process that took over read it."""
        ...

    async def events_after(self, session: SessionId, seq: int) -> Sequence[Logged] | None:
        """Every logged event with a `seq` above `seq`, in order (empty when up to date).

        None when the bounded history no longer reaches back to `seq + 1`, or the session
        is unknown: the caller sends a full sync instead."""
        ...

    async def subscribe(self, session: SessionId, listener: Listener) -> None:
        """From now on, hand every event committed to `session` to `listener`, in order,
        each exactly once."""
        ...

    async def unsubscribe(self, session: SessionId, listener: Listener) -> None: ...

    def on_lost(self, listener: LostListener) -> None:
        """Tell `listener` of each followed session whose state vanished from the store, or
        whose log lost events its listeners were owed (the store lost its data; the table may
        have been restored meanwhile, numbered on from `RESTORED_SEQ_GAP` ahead). Whoever
        follows it must catch up again, by `load` where the log falls short. Told again at
        every check while it stays so. One listener per engine."""
        ...

    async def set_presence(
        self, session: SessionId, player: PlayerId, connection: str, ttl: float
    ) -> None:
        """Mark a player connected through `connection` for `ttl` seconds (refresh to keep)."""
        ...

    async def clear_presence(self, session: SessionId, player: PlayerId, connection: str) -> int:
        """Drop one connection; returns how many live connections the player still has."""
        ...

    async def claim_lapsed(self) -> list[tuple[SessionId, PlayerId]]:
        """Players whose last connection's mark lapsed (it was not refreshed in time: its
        process died). Each lapse is reported to exactly one caller, once."""
        ...

    async def set_deadline(self, deadline: Deadline) -> None:
        """Set (or move) a deadline; a claimed, unfinished copy of it is dropped."""
        ...

    async def cancel_deadline(self, session: SessionId, kind: str, key: str) -> None: ...

    async def claim_due(self, now: int, lease: int = CLAIM_LEASE_MS) -> list[Deadline]:
        """Deadlines due at `now`: across every caller of every process, each is claimed
        by exactly one. A claim not finished (`finish_deadline`) within `lease` ms falls
        due again, so a process that dies holding it does not lose it."""
        ...

    async def finish_deadline(self, deadline: Deadline) -> None:
        """The claimed deadline was handled."""
        ...

    async def next_due(self) -> int | None:
        """When the earliest deadline falls due, if any is set."""
        ...

    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool:
        """Take one of `limit` slots of `pool` for `ttl` seconds (admission control).

        A slot whose holder stops renewing it (by acquiring again) frees itself at expiry,
        so a dead process cannot leak slots forever."""
        ...

    async def release_slot(self, pool: str, holder: str) -> None: ...

    async def slots_taken(self, pool: str) -> int:
        """How many of `pool`'s slots are held now, across every process (holders whose
        time-to-live has run out are not counted): what an operator reads of admission."""
        ...

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Hold `name` for `ttl` seconds; True when `holder` has it (new or renewed)."""
        ...

    async def release_lease(self, name: str, holder: str) -> None: ...

    async def tally(self, name: str, window: float, add: int = 1) -> int:
        """Add `add` (0 only reads, and starts nothing) to the counter `name` and return it.
        A counter lives `window` seconds from its first addition, then starts again from 0
        (a fixed window), and is shared by every process: per-player and per-address limits
        count here."""
        ...

    async def ping(self) -> bool:
        """Whether the store answers now (within about a second); never raises."""
        ...

    async def expire(self, session: SessionId, ttl: float) -> None:
        """Forget a finished session `ttl` seconds from now (its code is freed at once)."""
        ...

    async def close(self) -> None: ...
