"""An engine whose store cannot be reached, for what the narrator does without it."""

from __future__ import annotations

from storage.engine import EngineUnavailable
from storage.memory import MemoryEngine


class AwayEngine(MemoryEngine):
    """Its slots and leases raise `EngineUnavailable`, as `RedisEngine`'s do while Redis is
    away."""

    async def slots_taken(self, pool: str) -> int:
        raise EngineUnavailable("away")

    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool:
        raise EngineUnavailable("away")

    async def release_slot(self, pool: str, holder: str) -> None:
        raise EngineUnavailable("away")

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        raise EngineUnavailable("away")

    async def release_lease(self, name: str, holder: str) -> None:
        raise EngineUnavailable("away")
