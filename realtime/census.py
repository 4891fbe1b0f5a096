"""The census of live tables by phase that `maratang_tables` reports: read from the engine
(`Engine.sessions` and `load`), at most `CENSUS_LIMIT` tables, and kept `CENSUS_SECONDS` so
that scrapes in quick succession (or from several Prometheus servers) read the engine once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping

from storage.engine import Engine, EngineUnavailable, Snapshot

CENSUS_LIMIT = 10_000
CENSUS_SECONDS = 5.0
LOADS_AT_ONCE = 100


class TableCensus:
    def __init__(
        self,
        engine: Engine,
        limit: int = CENSUS_LIMIT,
        keep: float = CENSUS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._limit = limit
        self._keep = keep
        self._clock = clock
        self._taken: tuple[float, Mapping[str, int]] | None = None
        self._lock = asyncio.Lock()

    async def tables(self) -> Mapping[str, int] | None:
        """Live tables by phase (the last census while it is fresh); None when the engine
        cannot be reached now."""
        async with self._lock:  # one census at a time; the others read its result
            if self._taken is not None and self._clock() - self._taken[0] < self._keep:
                return self._taken[1]
            try:
                counted = await self._count()
            except EngineUnavailable:
                return None
            self._taken = (self._clock(), counted)
            return counted

    async def _count(self) -> Mapping[str, int]:
        found, _ = await live_tables(self._engine, self._limit)
        return Counter(snapshot.table.phase for snapshot in found)


async def live_tables(engine: Engine, limit: int) -> tuple[list[Snapshot], bool]:
    """Up to `limit` live tables, in no particular order; whether there may be more. Loaded
    `LOADS_AT_ONCE` at a time: the engine's connections are shared with the games. Raises
    `EngineUnavailable` once every load of the batch it failed in has ended."""
    sessions = await engine.sessions(limit)
    found: list[Snapshot] = []
    for start in range(0, len(sessions), LOADS_AT_ONCE):
        batch = sessions[start : start + LOADS_AT_ONCE]
        for snapshot in await asyncio.gather(
            *(engine.load(session) for session in batch), return_exceptions=True
        ):
            if isinstance(snapshot, BaseException):
                raise snapshot
            if snapshot is not None:  # else gone since it was listed
                found.append(snapshot)
    return found, len(sessions) >= limit
