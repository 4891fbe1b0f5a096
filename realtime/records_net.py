"""The records' safety net: a commit's records are stored even when the process that made
the commit dies before it wrote them.

`Records` writes behind the games, from the memory of the process that committed: a round's
results, a narration's text, the game's result and its closing wait there a moment for the
database. A process killed in that moment takes them along, though its commit (and every
player) lives on. So before a commit that makes records, the service sets a deadline in the
engine, kind `records`, keyed by the table's `seq` before the commit. Set before the commit,
it exists whenever the commit does, whoever dies when; the engine keeps it as it keeps every
timer (through a Redis restart on its AOF, too) and hands it to one process when it falls
due, `CHECK_MS` later, well after the queue stored them. That process reads the records back
from the table's log (its events after that `seq`) and stores them with the table's snapshot,
awaited, in one transaction; every record write is idempotent, so what the committing process
stored is not stored twice. The deadline is set on again before that store, and cancelled
once it succeeded: while the database is away, or should this process die too, it falls due
again.

What it cannot bring back: records whose events the log no longer holds when it looks (it
keeps a table's last `history` events, and forgets a table `closed_ttl` after it closed).
That takes the death of the committing process and a database outage that long at once, or
a live store that lost its data; it is said loudly.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from game.effects import Effect, RecordClosed, RecordGameOver, RecordNarration, RecordRound
from protocol.events import Logged
from protocol.types import SessionId
from realtime.clock import now_ms
from storage.engine import Deadline, Engine, EngineUnavailable, Snapshot
from storage.records import Records

log = logging.getLogger("maratang.records")

RECORDS = "records"
"""The kind the net's deadlines are stored under (their key: the table's `seq` before the
commit they guard)."""
CHECK_MS = 10_000
"""How long after a commit its records are stored again from the log."""
QUIET = 2.0
"""Seconds after a store found the database away during which this process's nets only
move on: an outage is not met with a connection attempt per record waiting."""
RECORD_EFFECTS = (RecordRound, RecordNarration, RecordGameOver, RecordClosed)

Later = Callable[[Coroutine[Any, Any, None], str], None]
"""Runs work in a task of its own, stopped with the service."""


class RecordsNet:
    def __init__(
        self, engine: Engine, records: Records, later: Later, check_ms: int = CHECK_MS
    ) -> None:
        self._engine = engine
        self._records = records
        self._later = later
        self._check_ms = check_ms
        self._storing: set[tuple[SessionId, str]] = set()
        self._quiet_until = 0.0

    async def arm(self, before: Snapshot, todo: Sequence[Effect]) -> None:
        """Before a commit onto `before` that makes the records in `todo`: set the deadline
        that has them stored whoever dies. Raises `EngineUnavailable` (and the commit is not
        tried) when the store is away."""
        if self._records.kept and any(isinstance(effect, RECORD_EFFECTS) for effect in todo):
            await self._engine.set_deadline(self._due(before.table.session, str(before.seq)))

    async def fire(self, deadline: Deadline) -> None:
        """A net fell due: store the records it guards, in a task (the database may be slow
        or away, and the other deadlines do not wait for it). It is set on again first, and
        falls due again unless that store succeeds."""
        await self._engine.set_deadline(self._due(deadline.session, deadline.key))
        name = (deadline.session, deadline.key)
        if name in self._storing or time.monotonic() < self._quiet_until:
            return  # a store under way here goes on alone; the database was just away
        self._storing.add(name)
        self._later(self._store(deadline), "records net")

    def _due(self, session: SessionId, key: str) -> Deadline:
        return Deadline(session, RECORDS, key, now_ms() + self._check_ms)

    async def _store(self, deadline: Deadline) -> None:
        session, key = deadline.session, deadline.key
        try:
            snapshot = await self._engine.load(session)
            logged = await self._log_after(session, key) if snapshot is not None else None
            if snapshot is None or logged is None:
                log.error(
                    "records of %s after seq %s can no longer be read back (the live store"
                    " forgot them): kept only if the process that committed them stored them",
                    session,
                    key,
                )
            else:
                await self._records.store(snapshot, [each.event for each in logged])
            await self._engine.cancel_deadline(session, RECORDS, key)
        except EngineUnavailable as exc:
            self._quiet_until = time.monotonic() + QUIET
            log.warning("records of %s after seq %s wait: %s", session, key, exc)
        except Exception:  # a bug: said once, not again every `CHECK_MS`
            log.exception("records of %s after seq %s could not be stored: DROPPED", session, key)
            with contextlib.suppress(EngineUnavailable):
                await self._engine.cancel_deadline(session, RECORDS, key)
        finally:
            self._storing.discard((session, key))

    async def _log_after(self, session: SessionId, key: str) -> Sequence[Logged] | None:
        if not (key.isascii() and key.isdigit()):
            return None
        return await self._engine.events_after(session, int(key))
