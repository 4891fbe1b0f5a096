"""What must survive a lost live store: the `Records` a hub writes behind its games, and the
records it reads back. `PostgresRecords` keeps them; `NoRecords` is the server without a
database (nothing kept, and it says so)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from game.state import Table
from protocol.events import Event, NarrationEnd
from protocol.types import SessionId
from storage.engine import Snapshot


@dataclass(frozen=True, slots=True)
class GamesPage:
    games: list[dict[str, Any]]
    next: int | None
    """`before` for the next page (ms since the epoch), None on the last page."""


class Records(Protocol):
    """Write-behind records. The write methods (but `store`) never block a game and never
    raise: they queue the write; `flush` waits (bounded) for the queue to be written. The
    reads raise `EngineUnavailable` while the database cannot be reached. How the writes
    fare is told to the `RecordsObserver` it was made with (`storage.observe`)."""

    @property
    def kept(self) -> bool:
        """False when nothing is stored (no database)."""
        ...

    async def start(self) -> None: ...

    def snapshot(self, snapshot: Snapshot, now: bool = False) -> None:
        """Note the newest state of a session; written periodically, or at once when `now`."""
        ...

    def round_resolved(self, table: Table) -> None: ...

    def narration_ended(self, table: Table, end: NarrationEnd) -> None: ...

    def game_over(self, table: Table) -> None: ...

    def session_closed(self, session: SessionId) -> None: ...

    async def store(self, snapshot: Snapshot, events: Sequence[Event]) -> None:
        """Store now, awaited, the records `events` make of the table and its snapshot (the
        records' safety net, `realtime.records_net`, off any game's path). Idempotent like
        every write; raises `EngineUnavailable` while the database cannot be reached."""
        ...

    async def last_snapshot(self, session: SessionId) -> Snapshot | None: ...

    async def game(self, game: str) -> dict[str, Any] | None: ...

    async def player_games(self, player: str, limit: int, before: int | None) -> GamesPage: ...

    async def games(self, limit: int, before: int | None) -> GamesPage:
        """Every finished game, newest first, finished before `before` (ms since the epoch)."""
        ...

    @property
    def pending(self) -> int:
        """Writes waiting in this process for the database now."""
        ...

    async def flush(self, timeout: float) -> None: ...

    async def close(self) -> None: ...


class NoRecords:
    """No database: nothing is written, nothing can be read."""

    kept = False

    async def start(self) -> None:
        pass

    def snapshot(self, snapshot: Snapshot, now: bool = False) -> None:
        pass

    def round_resolved(self, table: Table) -> None:
        pass

    def narration_ended(self, table: Table, end: NarrationEnd) -> None:
        pass

    def game_over(self, table: Table) -> None:
        pass

    def session_closed(self, session: SessionId) -> None:
        pass

    async def store(self, snapshot: Snapshot, events: Sequence[Event]) -> None:
        pass

    async def last_snapshot(self, session: SessionId) -> Snapshot | None:
        return None

    async def game(self, game: str) -> dict[str, Any] | None:
        return None

    async def player_games(self, player: str, limit: int, before: int | None) -> GamesPage:
        return GamesPage([], None)

    async def games(self, limit: int, before: int | None) -> GamesPage:
        return GamesPage([], None)

    @property
    def pending(self) -> int:
        return 0

    async def flush(self, timeout: float) -> None:
        pass

    async def close(self) -> None:
        pass
