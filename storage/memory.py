"""`MemoryEngine`: the engine for one process, with nothing to install.

Everything lives in this process's memory, so it is exactly as durable as the process.
Each method runs without awaiting in the middle, which makes it atomic on the event loop;
listeners run synchronously inside `commit`, so they see events in commit order. What
expires (finished sessions, tallies) waits in a heap by expiry: a call forgets what fell due
since the last one, and no call ever looks at every table. Each call that reads or writes
the store is timed for the metrics (`storage.observe.observed`), as the Redis engine's are.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence

from game.state import Table, Told
from protocol.events import Event, Logged, NarrationDelta
from protocol.types import NarrationSource, PlayerId, SessionId
from storage.engine import (
    CLAIM_LEASE_MS,
    CodeTaken,
    Deadline,
    Listener,
    LostListener,
    NotStreaming,
    NotTeller,
    Snapshot,
    VersionConflict,
    lane,
    narration_lease,
)
from storage.observe import UNOBSERVED, EngineObserver, observed

DEFAULT_HISTORY = 2000
CLAIM_LIMIT = 100
"""Deadlines one `claim_due` hands out (the rest on the next call), as the Redis engine."""
SESSION = "session"
TALLY = "tally"


class MemoryEngine:
    def __init__(
        self,
        history: int = DEFAULT_HISTORY,
        clock: Callable[[], float] = time.monotonic,
        observer: EngineObserver = UNOBSERVED,
    ) -> None:
        self.observer = observer
        """Told how long each call took (`storage.observe`)."""
        self._history = history
        self._clock = clock
        self._snapshots: dict[SessionId, Snapshot] = {}
        self._logs: dict[SessionId, deque[Logged]] = {}
        self._codes: dict[str, SessionId] = {}
        self._listeners: dict[SessionId, list[Listener]] = defaultdict(list)
        self._presence: dict[tuple[SessionId, PlayerId], dict[str, float]] = {}
        self._deadlines: dict[tuple[SessionId, str, str], Deadline] = {}
        self._due: list[tuple[int, SessionId, str, str]] = []
        self._claimed: dict[tuple[SessionId, str, str], tuple[Deadline, int]] = {}
        self._slots: dict[str, dict[str, float]] = defaultdict(dict)
        self._leases: dict[str, tuple[str, float]] = {}
        self._expiry: dict[SessionId, float] = {}
        self._tallies: dict[str, tuple[int, float]] = {}
        self._expiring: list[tuple[float, str, str]] = []
        """(when, what, key): sessions and tallies to forget, earliest first."""

    # Tables and logs ----------------------------------------------------------------------

    @observed
    async def create(self, table: Table) -> Snapshot:
        self._reap()
        if table.code in self._codes:
            raise CodeTaken(table.code)
        snapshot = Snapshot(table, version=1, seq=0, told=lane(table, None))
        self._snapshots[table.session] = snapshot
        self._logs[table.session] = deque(maxlen=self._history)
        self._codes[table.code] = table.session
        return snapshot

    @observed
    async def restore(self, snapshot: Snapshot) -> bool:
        self._reap()
        session = snapshot.table.session
        if session in self._snapshots:
            return False
        told = lane(snapshot.table, snapshot.told)
        snapshot = Snapshot(snapshot.table, snapshot.version, snapshot.seq, told)
        self._snapshots[session] = snapshot
        self._logs[session] = deque(maxlen=self._history)
        self._codes.setdefault(snapshot.table.code, session)
        return True

    @observed
    async def find_code(self, code: str) -> SessionId | None:
        self._reap()
        return self._codes.get(code)

    @observed
    async def load(self, session: SessionId) -> Snapshot | None:
        self._reap()
        return self._snapshots.get(session)

    @observed
    async def sessions(self, limit: int) -> list[SessionId]:
        self._reap()
        return list(itertools.islice(self._snapshots, limit))

    @observed
    async def commit(
        self, session: SessionId, expected_version: int, table: Table, events: Sequence[Event]
    ) -> tuple[Logged, ...]:
        current = self._snapshots.get(session)
        if current is None or current.version != expected_version:
            raise VersionConflict(session)
        logged = tuple(
            Logged(session, current.seq + n, event) for n, event in enumerate(events, start=1)
        )
        seq = current.seq + len(logged)
        self._snapshots[session] = Snapshot(
            table, current.version + 1, seq, lane(table, current.told)
        )
        self._log(session, logged)
        return logged

    @observed
    async def append(
        self,
        session: SessionId,
        delta: NarrationDelta,
        source: NarrationSource,
        teller: str | None = None,
    ) -> Logged:
        current = self._snapshots.get(session)
        if current is None or current.table.streaming != delta.nid:
            raise NotStreaming(session, delta.nid)
        if teller is not None and not self._holds(narration_lease(session, delta.nid), teller):
            raise NotTeller(session, delta.nid)
        told = current.told or Told(delta.nid)
        by = told.by if source in told.by else (*told.by, source)
        told = Told(delta.nid, told.text + delta.text, by)
        logged = Logged(session, current.seq + 1, delta)
        self._snapshots[session] = Snapshot(current.table, current.version, logged.seq, told)
        self._log(session, (logged,))
        return logged

    def _log(self, session: SessionId, logged: tuple[Logged, ...]) -> None:
        self._logs[session].extend(logged)
        if logged:
            for listener in tuple(self._listeners.get(session, ())):
                listener(logged)

    @observed
    async def events_after(self, session: SessionId, seq: int) -> Sequence[Logged] | None:
        log = self._logs.get(session)
        snapshot = self._snapshots.get(session)
        if log is None or snapshot is None or seq > snapshot.seq:
            return None
        if seq == snapshot.seq:
            return ()
        if not log or log[0].seq > seq + 1:
            return None
        start = seq + 1 - log[0].seq
        return tuple(log[i] for i in range(start, len(log)))

    @observed
    async def subscribe(self, session: SessionId, listener: Listener) -> None:
        self._listeners[session].append(listener)

    @observed
    async def unsubscribe(self, session: SessionId, listener: Listener) -> None:
        listeners = self._listeners.get(session)
        if listeners and listener in listeners:
            listeners.remove(listener)
            if not listeners:
                del self._listeners[session]

    def on_lost(self, listener: LostListener) -> None:
        """Nothing is ever lost here while the process lives."""

    # Presence -----------------------------------------------------------------------------

    @observed
    async def set_presence(
        self, session: SessionId, player: PlayerId, connection: str, ttl: float
    ) -> None:
        self._presence.setdefault((session, player), {})[connection] = self._clock() + ttl

    @observed
    async def clear_presence(self, session: SessionId, player: PlayerId, connection: str) -> int:
        connections = self._presence.get((session, player), {})
        connections.pop(connection, None)
        self._drop_lapsed(connections)
        if not connections:
            self._presence.pop((session, player), None)
        return len(connections)

    @observed
    async def claim_lapsed(self) -> list[tuple[SessionId, PlayerId]]:
        lapsed = []
        for key, connections in list(self._presence.items()):
            if self._drop_lapsed(connections) and not connections:
                del self._presence[key]
                lapsed.append(key)
        return lapsed

    def _drop_lapsed(self, connections: dict[str, float]) -> bool:
        now = self._clock()
        gone = [name for name, until in connections.items() if until <= now]
        for name in gone:
            del connections[name]
        return bool(gone)

    # Deadlines ----------------------------------------------------------------------------

    @observed
    async def set_deadline(self, deadline: Deadline) -> None:
        key = (deadline.session, deadline.kind, deadline.key)
        self._claimed.pop(key, None)
        self._deadlines[key] = deadline
        heapq.heappush(self._due, (deadline.due, *key))

    @observed
    async def cancel_deadline(self, session: SessionId, kind: str, key: str) -> None:
        self._deadlines.pop((session, kind, key), None)
        self._claimed.pop((session, kind, key), None)

    @observed
    async def claim_due(self, now: int, lease: int = CLAIM_LEASE_MS) -> list[Deadline]:
        for unfinished, until in list(self._claimed.values()):
            if until <= now:  # its claimer never finished it: due again
                await self.set_deadline(unfinished)
        claimed: list[Deadline] = []
        while self._due and self._due[0][0] <= now and len(claimed) < CLAIM_LIMIT:
            due, session, kind, key = heapq.heappop(self._due)
            deadline = self._deadlines.get((session, kind, key))
            if deadline is not None and deadline.due == due:
                del self._deadlines[(session, kind, key)]
                self._claimed[(session, kind, key)] = (deadline, now + lease)
                claimed.append(deadline)
        return claimed

    @observed
    async def finish_deadline(self, deadline: Deadline) -> None:
        key = (deadline.session, deadline.kind, deadline.key)
        claim = self._claimed.get(key)
        if claim is not None and claim[0] == deadline:
            del self._claimed[key]

    @observed
    async def next_due(self) -> int | None:
        while self._due:
            due, session, kind, key = self._due[0]
            deadline = self._deadlines.get((session, kind, key))
            if deadline is not None and deadline.due == due:
                return due
            heapq.heappop(self._due)  # cancelled or moved
        return None

    # Slots and leases ---------------------------------------------------------------------

    @observed
    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool:
        now = self._clock()
        holders = self._slots[pool]
        for name in [name for name, until in holders.items() if until <= now]:
            del holders[name]
        if holder not in holders and len(holders) >= limit:
            return False
        holders[holder] = now + ttl
        return True

    @observed
    async def release_slot(self, pool: str, holder: str) -> None:
        holders = self._slots.get(pool)
        if holders is not None:
            holders.pop(holder, None)
            if not holders:  # pools are many (one per player's sockets): none stays empty
                del self._slots[pool]

    @observed
    async def slots_taken(self, pool: str) -> int:
        now = self._clock()
        return sum(1 for until in self._slots.get(pool, {}).values() if until > now)

    @observed
    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        now = self._clock()
        current = self._leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._leases[name] = (holder, now + ttl)
        return True

    def _holds(self, name: str, holder: str) -> bool:
        current = self._leases.get(name)
        return current is not None and current[0] == holder and current[1] > self._clock()

    @observed
    async def release_lease(self, name: str, holder: str) -> None:
        current = self._leases.get(name)
        if current is not None and current[0] == holder:
            del self._leases[name]

    @observed
    async def tally(self, name: str, window: float, add: int = 1) -> int:
        self._reap()
        now = self._clock()
        count, until = self._tallies.get(name, (0, 0.0))
        if until <= now and add == 0:
            return 0  # reading starts no window
        if until <= now:
            count, until = 0, now + window
            heapq.heappush(self._expiring, (until, TALLY, name))
        self._tallies[name] = (count + add, until)
        return count + add

    async def ping(self) -> bool:
        return True

    # Lifetime -----------------------------------------------------------------------------

    @observed
    async def expire(self, session: SessionId, ttl: float) -> None:
        snapshot = self._snapshots.get(session)
        if snapshot is not None:
            self._codes.pop(snapshot.table.code, None)
        until = self._clock() + ttl
        self._expiry[session] = until
        heapq.heappush(self._expiring, (until, SESSION, session))

    def _reap(self) -> None:
        """Forget what fell due: each expiry is looked at once, when it is due."""
        now = self._clock()
        while self._expiring and self._expiring[0][0] <= now:
            until, what, key = heapq.heappop(self._expiring)
            if what == SESSION and self._expiry.get(SessionId(key)) == until:
                del self._expiry[SessionId(key)]
                self._snapshots.pop(SessionId(key), None)
                self._logs.pop(SessionId(key), None)
            elif what == TALLY and self._tallies.get(key, (0, None))[1] == until:
                del self._tallies[key]

    async def close(self) -> None:
        self._listeners.clear()
