"""What every hub process shares about the model servers, through the engine: how many
narrations each server streams now, and whether a hub's breaker stopped it.

Built on the engine's slots and leases alone, one key per call (Redis Cluster safe), per
server (`<url>` is its URL without user or password):

- `llm:<url>`, its admission slots (`llm.model`): a narration holds one while it streams, so
  their count is the server's outstanding requests across every hub. Read to choose.
- `llm-breaker:<url>`, a pool of one slot held by `open` while the hubs keep requests from the
  server. Taken when a breaker opens (or a probe finds the server still failing), given back
  when a probe finds it healthy. Read with the counts, so every hub stops at its next
  narration after one opened it, and starts again after one probe.
- `llm-probe:<url>`, a lease: the cooldown, then the probe. The hub that opened the breaker
  holds it for its cooldown; once that lapses, the first hub due to probe takes it, so one
  `GET /health` decides for all of them.

Cost: a narration reads two counts per server (concurrently: one round trip) before it takes
its slot, and again each time it polls while it waits for one; an opening, a probe and its
outcome cost one or two calls each. Nothing is read per token. A store that cannot be reached
answers None: each hub then goes on with its own breaker and its own count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from llm.breaker import MAX_COOLDOWN

OPEN = "open"
"""The one holder of a server's breaker pool."""
FLAG_SPARE = MAX_COOLDOWN
"""A breaker's flag outlives its cooldown by this much, then lapses by itself: no hub came to
probe (none had a narration, or the probing one died), and the hubs go on as on probation."""
PROBE_LEASE_SECONDS = 5.0
"""How long a hub holds the probe while its `GET /health` runs (the probe's timeout and
spare): one that dies probing lets another probe after it."""


class SharedStore(Protocol):
    """The engine as the hubs share it (`realtime.narrator_setup.EngineShared`). Never
    raises: a store that cannot be reached reads None and takes nothing."""

    async def slots_taken(self, pool: str) -> int | None: ...

    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool: ...

    async def release_slot(self, pool: str, holder: str) -> None: ...

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool | None: ...

    async def release_lease(self, name: str, holder: str) -> None: ...


class Unshared:
    """No store: each process on its own."""

    async def slots_taken(self, pool: str) -> int | None:
        return None

    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool:
        return False

    async def release_slot(self, pool: str, holder: str) -> None:
        pass

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool | None:
        return None

    async def release_lease(self, name: str, holder: str) -> None:
        pass


def slots_pool(url: str) -> str:
    """The name of a server's narration slots, shared by every hub process."""
    return f"llm:{url}"


def breaker_pool(url: str) -> str:
    """The name of a server's breaker flag: one slot, held while the hubs keep away."""
    return f"llm-breaker:{url}"


def probe_lease(url: str) -> str:
    """The name of the lease on a server's cooldown and probe."""
    return f"llm-probe:{url}"


@dataclass(frozen=True, slots=True)
class Reading:
    """What the hubs share of one server now (None: the store did not answer)."""

    open: bool | None
    """A hub's breaker keeps requests from it."""
    taken: int | None
    """Narrations streaming there, across every hub."""


@dataclass(frozen=True, slots=True)
class SharedBreakers:
    """The hubs' shared breakers and counts, as `holder` (this process) reads and sets them."""

    store: SharedStore
    holder: str

    async def read(self, urls: Sequence[str]) -> list[Reading]:
        """Every server's breaker and count, all asked at once."""
        breakers = [self.store.slots_taken(breaker_pool(url)) for url in urls]
        counts = [self.store.slots_taken(slots_pool(url)) for url in urls]
        found = await asyncio.gather(*breakers, *counts)
        return [
            Reading(None if flag is None else flag > 0, taken)
            for flag, taken in zip(found[: len(urls)], found[len(urls) :], strict=True)
        ]

    async def opened(self, url: str, cooldown: float) -> bool:
        """Tell every hub the server's breaker opened for `cooldown` seconds, and hold its
        probe until then; False when the store could not be told."""
        flagged, _ = await asyncio.gather(
            self.store.acquire_slot(breaker_pool(url), OPEN, 1, cooldown + FLAG_SPARE),
            self.store.acquire_lease(probe_lease(url), self.holder, cooldown),
        )
        return flagged

    async def probe_turn(self, url: str, shared: bool) -> bool | None:
        """Take the server's probe: True when this hub probes now; False while another hub
        probes or its cooldown runs, and when (`shared`, the hubs' breaker) another hub's
        probe closed it since it was read open; None when the store cannot say (probe alone).
        """
        taken = await self.store.acquire_lease(probe_lease(url), self.holder, PROBE_LEASE_SECONDS)
        if taken and shared and await self.store.slots_taken(breaker_pool(url)) == 0:
            await self.store.release_lease(probe_lease(url), self.holder)
            return False
        return taken

    async def closed(self, url: str) -> None:
        """The probe found the server healthy: every hub may send it requests again. The
        breaker goes before the probe, so a hub that takes the probe next finds it gone."""
        await self.store.release_slot(breaker_pool(url), OPEN)
        await self.store.release_lease(probe_lease(url), self.holder)
