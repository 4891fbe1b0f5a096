"""Which narration of this process gets the next model slot: the best priority first, then the
first to arrive, which is also the order vLLM serves its own queue in under
`--scheduling-policy priority`.

Only this process's narrations are ordered: processes still race for the engine's slots, as
they did before any of them waited.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from protocol.types import NarrationKind

PRIORITY: dict[NarrationKind, int] = {"tasting": 0, "entrance": 1, "finale": 2}
"""vLLM's `priority` of each kind (lower is served earlier). A table waiting for its scores is
worse off than a customer walking in a little late, and the finale closes a finished game."""


@dataclass(frozen=True, slots=True, order=True)
class Ticket:
    """A narration asking for a slot; tickets compare in the order they are served."""

    priority: int
    arrival: int


class WaitingLine:
    """This process's narrations that asked for a slot and found none. A narration tries for a
    slot only while no better one waits, so a slot freed goes to the best waiting narration
    (or to a better newcomer) rather than to whichever polls first."""

    def __init__(self) -> None:
        self._waiting: set[Ticket] = set()
        self._arrivals = itertools.count()

    def __len__(self) -> int:
        return len(self._waiting)

    def ticket(self, kind: NarrationKind) -> Ticket:
        """A place in the order for a narration of `kind` asking now (it is not waiting yet)."""
        return Ticket(PRIORITY[kind], next(self._arrivals))

    def may_try(self, ticket: Ticket) -> bool:
        """No better narration is waiting."""
        return all(ticket <= other for other in self._waiting)

    def others(self, ticket: Ticket) -> int:
        """Narrations waiting besides `ticket`'s."""
        return len(self._waiting) - (ticket in self._waiting)

    def join(self, ticket: Ticket) -> bool:
        """`ticket` waits now; True the first time."""
        joined = ticket not in self._waiting
        self._waiting.add(ticket)
        return joined

    def leave(self, ticket: Ticket) -> bool:
        """`ticket` waits no more; True when it was waiting."""
        left = ticket in self._waiting
        self._waiting.discard(ticket)
        return left
