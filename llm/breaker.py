"""One model server's circuit breaker, as this process keeps it.

After `failures` failed requests in a row it opens and the server gets no requests for
`cooldown` seconds (doubling while it keeps failing, up to `MAX_COOLDOWN`). When the cooldown
is over, a `GET /health` probe decides: 200 half-opens it (requests go again; the next failure
opens it at once, the next success closes it), anything else keeps it open.

Hubs share what their breakers find (`llm.shared`): a breaker opens here too when another hub
opened it (`mirror`), and closes when another hub's probe found the server healthy
(`released`), on probation: like half-open, the next failure opens it again at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_COOLDOWN = 60.0


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class Breaker:
    failures: int
    cooldown: float
    state: State = State.CLOSED
    failed: int = 0
    """Failures in a row."""
    opened_for: float = 0.0
    reopen_at: float = 0.0
    """When this process may probe (another hub may hold the probe then: `postpone`)."""
    shared: bool = False
    """Its opening is known to every hub (this one told them, or learned it from another):
    another hub's probe may close it."""
    changes: int = 0
    """Counts its changes, so that what was read of the hubs' shared state before one is not
    applied after it."""

    def allows(self) -> bool:
        return self.state is not State.OPEN

    def probe_due(self, now: float) -> bool:
        return self.state is State.OPEN and now >= self.reopen_at

    def success(self) -> None:
        self.state, self.failed, self.opened_for, self.shared = State.CLOSED, 0, 0.0, False
        self.changes += 1

    def failure(self, now: float) -> bool:
        """Count a failed request; True when this failure opened the breaker."""
        self.failed += 1
        self.changes += 1
        if self.state is State.HALF_OPEN or (
            self.state is State.CLOSED and self.failed >= self.failures
        ):
            self._open(now)
            return True
        return False

    def probed(self, healthy: bool, now: float) -> None:
        if healthy:
            self.state = State.HALF_OPEN
            self.changes += 1
        else:
            self._open(now)

    def published(self) -> None:
        """Every hub was told that it opened."""
        if self.state is State.OPEN:
            self.shared = True
            self.changes += 1

    def mirror(self, now: float) -> bool:
        """Another hub opened it: open here as well (the probe waits for that hub's cooldown,
        `llm.shared`). True when it was not open here."""
        if self.state is State.OPEN:
            if not self.shared:  # opened here while the hubs could not be told
                self.published()
            return False
        self._open(now)
        self.shared = True
        return True

    def released(self) -> bool:
        """Another hub's probe found the server healthy: closed, on probation (the next
        failure opens it again at once). True when it was open here by the hubs' word."""
        if self.state is not State.OPEN or not self.shared:
            return False
        self.state, self.failed, self.shared = State.CLOSED, self.failures - 1, False
        self.changes += 1
        return True

    def postpone(self, until: float) -> None:
        """Another hub probes (or its cooldown still runs): look again at `until`."""
        self.reopen_at = until
        self.changes += 1

    def _open(self, now: float) -> None:
        grown = self.opened_for * 2 if self.opened_for else self.cooldown
        self.opened_for = min(grown, MAX_COOLDOWN)
        self.state, self.reopen_at, self.shared = State.OPEN, now + self.opened_for, False
        self.changes += 1
