"""The census of live tables by phase that `maratang_tables` reports: read from the engine
(`Engine.sessions` and `load`), at most `CENSUS_LIMIT` tables, and kept `CENSUS_SECONDS` so
that scrapes in quick succession (or from several Prometheus servers) read the engine once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping

from storage.engine import Engine, EngineUnavailable

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
        phases: Counter[str] = Counter()
        sessions = await self._engine.sessions(self._limit)
        for start in range(0, len(sessions), LOADS_AT_ONCE):
            batch = sessions[start : start + LOADS_AT_ONCE]
            loads = (self._engine.load(session) for session in batch)
            for snapshot in await asyncio.gather(*loads, return_exceptions=True):
                if isinstance(snapshot, BaseException):
                    raise snapshot  # once every load of the batch has ended
                if snapshot is not None:  # gone since it was listed
                    phases[snapshot.table.phase] += 1
        return phases
