"""`PostgresRecords`: session snapshots and finished games in PostgreSQL (asyncpg), written
behind the games.

Writes never wait for the database. Snapshots are kept newest-only per session and written
every `snapshot_seconds` (at once at a round's end and at the game's end); the game's rounds,
narrations and result are queued as they happen. One writer task stores them in batches,
each in a transaction, every statement idempotent (a newer snapshot wins; a record is
inserted once), so a batch tried again after a lost connection stores nothing twice. While
the database is unreachable the writer tries again with backoff; nothing is dropped unless
the queue reaches `max_pending`, and then loudly (an error in the log, `records_dropped`).
The queue dies with its process: the records' safety net (`realtime.records_net`) stores a
commit's records again from the table's log through `store`, which is awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from game.rules import narration_of
from game.state import Table
from protocol.events import Event, GameOver, NarrationEnd, RoundResolved, SessionClosed
from protocol.types import RankEntry, Result, SessionId, game_id
from protocol.wire import to_wire
from storage.engine import EngineUnavailable, Snapshot, folded, unfolded
from storage.observe import UNOBSERVED, RecordsObserver
from storage.postgres_reads import read_game, read_games, read_player_games
from storage.records import GamesPage
from storage.serial import table_bytes, table_from

log = logging.getLogger("maratang.records")

Db: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
Job: TypeAlias = Callable[[Db], Awaitable[object]]
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)
"""Failures that say the database is away (down, restarting, unreachable), not that a write
is wrong: the write is tried again."""
BATCH = 200
MAX_BACKOFF = 5.0
PRUNE_BATCH = 1000
PRUNE_LOCK = 0x6D61_7270  # "marp": one process prunes at a time, the others skip
PRUNE_EVERY = 3600.0
"""Seconds between two prunings (a quarter of the retention when that is shorter)."""
PRUNE_SESSIONS = """
DELETE FROM sessions WHERE id IN (
    SELECT s.id FROM sessions s
    WHERE coalesce(s.closed_at, s.created_at) < $1
      AND NOT EXISTS (SELECT 1 FROM games g WHERE g.session_id = s.id)
      AND NOT EXISTS (
          SELECT 1 FROM session_snapshots n WHERE n.session_id = s.id AND n.taken_at >= $1)
    LIMIT $2)
"""
"""Sessions rows that no game record needs, of tables untouched since the cutoff (their
snapshots go with them)."""
PRUNE_SNAPSHOTS = """
DELETE FROM session_snapshots WHERE taken_at < $1 AND session_id IN (
    SELECT session_id FROM session_snapshots WHERE taken_at < $1 LIMIT $2)
"""
"""Snapshots of tables untouched since the cutoff (a played game's session row stays)."""


class PostgresRecords:
    kept = True

    def __init__(
        self,
        url: str,
        snapshot_seconds: float = 10.0,
        max_pending: int = 10_000,
        retention: float = 72 * 3600.0,
        observer: RecordsObserver = UNOBSERVED,
    ) -> None:
        self._url = url
        self._every = snapshot_seconds
        self._max_pending = max_pending
        self._retention = retention
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._jobs: deque[Job] = deque()
        self._snapshots: dict[SessionId, Snapshot] = {}
        self._due: set[SessionId] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._observer = observer

    async def start(self) -> None:
        """Make the pool (it connects on first use, so a database that is down now does not
        stop the server) and start the writer."""
        self._pool = await asyncpg.create_pool(
            self._url, min_size=0, max_size=4, timeout=5, command_timeout=10
        )
        self._tasks = [
            asyncio.create_task(self._write_forever(), name="records writer"),
            asyncio.create_task(self._tick(), name="records snapshots"),
            asyncio.create_task(self._prune_forever(), name="records pruning"),
        ]

    # Writes (queued, never waited for) -----------------------------------------------------

    def snapshot(self, snapshot: Snapshot, now: bool = False) -> None:
        session = snapshot.table.session
        known = self._snapshots.get(session)
        if known is None or known.version < snapshot.version:
            self._snapshots[session] = snapshot
        if now:
            self._due.add(session)
            self._kick()

    def round_resolved(self, table: Table) -> None:
        self._queue(_round_job(table, table.round, table.results or ()))

    def narration_ended(self, table: Table, end: NarrationEnd) -> None:
        self._queue(_narration_job(table, end))

    def game_over(self, table: Table) -> None:
        self._queue(_game_job(table, table.ranking or (), datetime.now(UTC)))

    def session_closed(self, session: SessionId) -> None:
        self._queue(_closed_job(session))

    def _queue(self, job: Job) -> None:
        if len(self._jobs) >= self._max_pending:
            self._observer.records_dropped(1)
            log.error(
                "records queue full (%d waiting): a game record was DROPPED; "
                "is the database down? (MARATANG_RECORDS_QUEUE)",
                len(self._jobs),
            )
            return
        self._jobs.append(job)
        self._observer.records_pending(len(self._jobs) + len(self._due))
        self._kick()

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    # The writer ---------------------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            if self._snapshots:
                self._due.update(self._snapshots)
                self._kick()

    async def _write_forever(self) -> None:
        backoff = 0.1
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._jobs or self._due:
                self._observer.records_pending(len(self._jobs) + len(self._due))
                batch = self._batch()
                try:
                    await self._store(batch)
                except UNREACHABLE as exc:
                    self._observer.records_retried()
                    log.warning("records: the database is unreachable (%s); retrying", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                except Exception:  # a bug in a record: keep the writer alive for the rest
                    self._observer.records_dropped(len(batch))
                    log.exception("records: %d records could not be written: DROPPED", len(batch))
                backoff = 0.1
            self._observer.records_pending(0)
            self._idle.set()

    def _batch(self) -> list[Job]:
        jobs = [self._jobs.popleft() for _ in range(min(BATCH, len(self._jobs)))]
        due, self._due = self._due, set()
        for session in due:
            snapshot = self._snapshots.pop(session, None)
            if snapshot is not None:
                jobs.insert(0, _snapshot_job(snapshot))
        return jobs

    async def _store(self, batch: list[Job]) -> None:
        """Write `batch` (`_write_all`). If the database is unreachable, the jobs not yet
        stored go back to the front of the queue and the error is raised."""
        left = list(batch)
        try:
            written = await self._write_all(left)
        except UNREACHABLE:
            self._jobs.extendleft(reversed(left))
            raise
        self._observer.records_written(written)

    async def _write_all(self, jobs: list[Job]) -> int:
        """Write `jobs` in one transaction. If the database refuses it as invalid, write them
        one by one and drop (loudly) those it refuses, so one bad record cannot hold up the
        others. How many were written; if the database is unreachable, the error is raised
        and `jobs` keeps those not stored."""
        try:
            await self._write(jobs)
        except UNREACHABLE:
            raise
        except asyncpg.PostgresError:
            pass
        else:
            written = len(jobs)
            jobs.clear()
            return written
        written = 0
        while jobs:
            try:
                await self._write(jobs[:1])
            except UNREACHABLE:
                raise
            except asyncpg.PostgresError:
                self._observer.records_dropped(1)
                log.exception("records: the database refused a record; it is DROPPED")
            else:
                written += 1
            jobs.pop(0)
        return written

    async def _write(self, batch: list[Job]) -> None:
        assert self._pool is not None
        async with self._pool.acquire() as db, db.transaction():
            for job in batch:
                await job(db)

    async def flush(self, timeout: float) -> None:
        """Write every snapshot and record waiting now, within `timeout` seconds."""
        self._due.update(self._snapshots)
        if self._jobs or self._due:
            self._kick()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.error(
                "records: %d writes could not be stored before stopping (database away?)",
                len(self._jobs) + len(self._due),
            )

    async def store(self, snapshot: Snapshot, events: Sequence[Event]) -> None:
        """Store now, in one transaction, the records `events` make of the table and the
        table's snapshot; awaited, beside the writer's queue. What the records' safety net
        (`realtime.records_net`) calls with the events it read back from the table's log.
        Raises `EngineUnavailable` while the database cannot be reached; records it refuses
        as invalid are dropped, loudly, as the writer drops them."""
        jobs = [_snapshot_job(snapshot), *_record_jobs(snapshot.table, events)]
        try:
            await self._write_all(jobs)
        except UNREACHABLE as exc:
            raise EngineUnavailable(f"the records database is unreachable: {exc}") from exc

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pool is not None:
            await self._pool.close()

    # Retention ------------------------------------------------------------------------------

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(min(PRUNE_EVERY, self._retention / 4))
            try:
                await self.prune()
            except UNREACHABLE as exc:
                log.warning("records: nothing pruned, the database is unreachable (%s)", exc)
            except Exception:  # pruning waits for its next turn; it never stops for good
                log.exception("records: pruning failed; trying again later")

    async def prune(self) -> tuple[int, int]:
        """Forget what outlived the retention: the snapshots of tables untouched for that
        long (finished ones are never restored; an abandoned one cannot be resumed, its
        players' tokens have expired), and the sessions rows no game record refers to.
        Game records stay. Returns (sessions, snapshots) removed. Every process runs it; one
        at a time prunes (an advisory lock), the others find nothing to do or skip."""
        assert self._pool is not None
        cutoff = datetime.now(UTC) - timedelta(seconds=self._retention)
        async with self._pool.acquire() as db:
            if not await db.fetchval("SELECT pg_try_advisory_lock($1)", PRUNE_LOCK):
                return 0, 0
            try:
                sessions = await _delete_in_batches(db, PRUNE_SESSIONS, cutoff)
                snapshots = await _delete_in_batches(db, PRUNE_SNAPSHOTS, cutoff)
            finally:
                await db.execute("SELECT pg_advisory_unlock($1)", PRUNE_LOCK)
        if sessions or snapshots:
            log.info("records: pruned %d sessions and %d more snapshots", sessions, snapshots)
        return sessions, snapshots

    # Reads ----------------------------------------------------------------------------------

    # Reads raise `EngineUnavailable` while the database is away, like the live store: the
    # caller is told to try again, not that the table or the game is gone.

    async def last_snapshot(self, session: SessionId) -> Snapshot | None:
        async with self._reading() as pool:
            row = await pool.fetchrow(
                "SELECT version, seq, state FROM session_snapshots WHERE session_id = $1", session
            )
        if row is None:
            return None
        return unfolded(table_from(row["state"]), row["version"], row["seq"])

    async def game(self, game: str) -> dict[str, Any] | None:
        async with self._reading() as pool:
            return await read_game(pool, game)

    async def player_games(self, player: str, limit: int, before: int | None) -> GamesPage:
        async with self._reading() as pool:
            return await read_player_games(pool, player, limit, before)

    async def games(self, limit: int, before: int | None) -> GamesPage:
        async with self._reading() as pool:
            return await read_games(pool, limit, before)

    @property
    def pending(self) -> int:
        return len(self._jobs) + len(self._due)

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
        assert self._pool is not None
        try:
            yield self._pool
        except UNREACHABLE as exc:
            raise EngineUnavailable(f"the records database is unreachable: {exc}") from exc


async def _delete_in_batches(db: Db, statement: str, cutoff: datetime) -> int:
    """Run `statement` until it deletes less than a batch: short statements, no long lock on
    a busy table. How many rows it deleted."""
    total = 0
    while True:
        status = await db.execute(statement, cutoff, PRUNE_BATCH)
        deleted = int(status.rsplit(" ", 1)[-1])
        total += deleted
        if deleted < PRUNE_BATCH:
            return total


def _record_jobs(table: Table, events: Sequence[Event]) -> list[Job]:
    """The record each of `events` makes of `table`, if it makes one."""
    jobs: list[Job] = []
    for event in events:
        match event:
            case RoundResolved(round=number, results=results):
                jobs.append(_round_job(table, number, results))
            case NarrationEnd():
                jobs.append(_narration_job(table, event))
            case GameOver(ranking=ranking):
                jobs.append(_game_job(table, ranking, datetime.now(UTC)))
            case SessionClosed():
                jobs.append(_closed_job(table.session))
    return jobs


def _round_job(table: Table, number: int, results: Sequence[Result]) -> Job:
    game = game_id(table.session)
    customer = str(table.customers[number - 1]) if 0 < number <= len(table.customers) else ""
    wire = orjson.dumps([to_wire(r) for r in results]).decode()
    return lambda db: db.execute(
        "INSERT INTO game_rounds (game_id, round, customer, results)"
        " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING",
        game,
        number,
        customer,
        wire,
    )


def _narration_job(table: Table, end: NarrationEnd) -> Job:
    kind, number = narration_of(end.nid, table.round)
    game = game_id(table.session)
    return lambda db: db.execute(
        "INSERT INTO game_narrations (game_id, nid, kind, round, text, source)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        game,
        end.nid,
        kind,
        number,
        end.text,
        end.source,
    )


def _game_job(table: Table, ranking: Sequence[RankEntry], finished: datetime) -> Job:
    game = game_id(table.session)

    async def write(db: Db) -> None:
        await _session_row(db, table)
        await db.execute(
            "INSERT INTO games (id, session_id, lang, rounds, finished_at, ranking)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING",
            game,
            table.session,
            table.settings.lang,
            table.settings.rounds,
            finished,
            orjson.dumps([to_wire(r) for r in ranking]).decode(),
        )
        await db.executemany(
            "INSERT INTO game_players (game_id, player_id, name, place, total, finished_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            [(game, r.player, r.name, r.place, r.total, finished) for r in ranking],
        )

    return write


def _closed_job(session: SessionId) -> Job:
    return lambda db: db.execute(
        "UPDATE sessions SET closed_at = now() WHERE id = $1 AND closed_at IS NULL", session
    )


def _snapshot_job(snapshot: Snapshot) -> Job:
    table = snapshot.table

    async def write(db: Db) -> None:
        await _session_row(db, table)
        await db.execute(
            "INSERT INTO session_snapshots (session_id, version, seq, phase, state)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (session_id) DO UPDATE SET version = excluded.version,"
            " seq = excluded.seq, phase = excluded.phase, state = excluded.state,"
            " taken_at = now() WHERE session_snapshots.version < excluded.version",
            table.session,
            snapshot.version,
            snapshot.seq,
            table.phase,
            table_bytes(folded(snapshot)),
        )
        if table.seats:
            await db.executemany(
                "INSERT INTO players (id, name) VALUES ($1, $2)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, last_seen = now()",
                [(seat.player, seat.name) for seat in table.seats],
            )

    return write


async def _session_row(db: Db, table: Table) -> None:
    await db.execute(
        "INSERT INTO sessions (id, code, lang, rounds) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO UPDATE SET lang = excluded.lang, rounds = excluded.rounds",
        table.session,
        table.code,
        table.settings.lang,
        table.settings.rounds,
    )
