"""The table service: commands → rules → engine commit → events to every player.

Every change to a table goes through `execute`: load the table, apply the rules, commit
with the version it was loaded at, and on a conflict (another command committed first)
do it all again. After a commit the service carries out what `game.effects` says follows
(timers, narrations, records): it decides nothing of its own. A restored table is rearmed
by the same function, so a restore and a commit cannot disagree on what a table waits for.
Before a commit that makes records it sets their safety net (`realtime.records_net`), so
that they are stored even if this process dies before its writer stored them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any

from game import commands as c
from game.effects import (
    CancelTimer,
    Effect,
    Forget,
    GraceEnds,
    HurryNarration,
    KeepSnapshot,
    NarrationWatch,
    RecordClosed,
    RecordGameOver,
    RecordNarration,
    RecordRound,
    RoundDue,
    SetTimer,
    StartNarration,
    StopNarration,
    effects,
    timer_key,
    timer_of,
)
from game.rules import apply
from game.state import DEFAULT_LANG, DEFAULT_ROUNDS, DEFAULT_SECONDS, Table, TableSettings
from llm.narrator import Narrator
from protocol.errors import ErrorCode, ProtocolError
from protocol.events import Event
from protocol.types import (
    CODE_ALPHABET,
    CODE_LENGTH,
    PlayerId,
    PlayerView,
    SessionId,
    Settings,
)
from realtime import logs
from realtime.clock import now_ms
from realtime.metrics import Metrics
from realtime.records_net import RECORDS, RecordsNet
from realtime.relay import Relay, until_answers
from realtime.settings import Settings as ServerSettings
from storage.engine import (
    RESTORED_SEQ_GAP,
    CodeTaken,
    Deadline,
    Engine,
    EngineUnavailable,
    Snapshot,
    VersionConflict,
    lane,
)
from storage.records import Records

log = logging.getLogger("maratang.service")

MAX_ATTEMPTS = 16
LATE_EVERY = 0.5
"""Seconds between looks at a store that went away, while effects wait for it."""
ENGINE_EFFECTS = (SetTimer, CancelTimer, Forget)
"""The effects carried out by the store (the others are local)."""


def late_names(late: Sequence[Effect]) -> str:
    return ", ".join(type(effect).__name__ for effect in late)


FINISHED = ("over", "closed")


SESSION_ID = re.compile(r"s_[A-Za-z0-9_-]{1,64}")
"""What `create` names sessions (and so what a resume may name)."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class TableService:
    def __init__(
        self,
        engine: Engine,
        narrator: Narrator,
        metrics: Metrics,
        records: Records,
        settings: ServerSettings,
        deadline_set: Callable[[], None],
        holder: str,
    ) -> None:
        self._engine = engine
        self._records = records
        self._settings = settings
        self._deadline_set = deadline_set
        self._metrics = metrics
        self._late: set[asyncio.Task[None]] = set()
        """Effects of commits waiting for the store to come back, records being stored."""
        self._net = RecordsNet(engine, records, self._later)
        self.relay = Relay(
            engine,
            narrator,
            metrics,
            self.execute,
            settings.coalesce_ms / 1000,
            holder,
            settings.narration_lease,
        )

    async def create(self, host: PlayerView, settings: Settings | None) -> Table:
        """A new table with `host` seated, under a fresh join code."""
        wanted = settings or Settings()
        table_settings = TableSettings(
            rounds=wanted.rounds or DEFAULT_ROUNDS,
            seconds=wanted.seconds or DEFAULT_SECONDS,
            lang=wanted.lang or DEFAULT_LANG,
        )
        for _ in range(MAX_ATTEMPTS):
            session = SessionId("s_" + secrets.token_urlsafe(9))
            table = Table(session, new_code(), secrets.randbits(62), table_settings)
            try:
                await self._engine.create(table)
            except CodeTaken:
                continue
            await self.execute(session, c.Join(host.id, host.name))
            return table
        raise ProtocolError(ErrorCode.BUSY, "could not find a free join code")

    async def find(self, code: str) -> SessionId:
        session = await self._engine.find_code(code)
        if session is None:
            raise ProtocolError(ErrorCode.SESSION_NOT_FOUND, f"no table has the code {code}")
        return session

    async def execute(self, session: SessionId, command: c.Command) -> Snapshot:
        """Apply `command` to the table and commit it; retried on version conflicts. What is
        logged meanwhile names the table, whoever asked."""
        with logs.about(session):
            return await self._execute(session, command)

    async def _execute(self, session: SessionId, command: c.Command) -> Snapshot:
        """The store may take a commit and lose its answer (it went away; the Redis client
        may then send it again, and hear of a conflict with itself). Where the table is found
        at the version that commit made, with its table, the commit is taken as landed and
        what it decided is carried out all the same."""
        for _ in range(MAX_ATTEMPTS):
            snapshot = await self._engine.load(session) or await self._back(session, command)
            table, events = apply(snapshot.table, command)
            if not events:
                return snapshot
            todo = self._effects(snapshot.table, table, events)
            await self._net.arm(snapshot, todo)
            try:
                logged = await self._engine.commit(session, snapshot.version, table, events)
            except VersionConflict:
                landed = await self._landed(snapshot, table)
                if landed is None:
                    continue
                await self._carry_out(landed, todo)
                return landed
            except EngineUnavailable:
                self._later(self._settle(snapshot, table, todo), "settle a commit")
                raise
            told = lane(table, snapshot.told)
            after = Snapshot(table, snapshot.version + 1, logged[-1].seq, told)
            await self._carry_out(after, todo)
            return after
        raise ProtocolError(ErrorCode.BUSY, "the table is busy, try again")

    def _effects(
        self, before: Table | None, after: Table, events: Sequence[Event]
    ) -> tuple[Effect, ...]:
        grace_ms = int(self._settings.grace_seconds * 1000)
        return effects(before, after, events, now_ms(), grace_ms)

    async def _carry_out(self, after: Snapshot, todo: Sequence[Effect]) -> None:
        """Do what `game.effects` decided, in order. The commit has happened: an effect the
        store cannot take now (it went away just after) is not lost with the ones after it.
        It is carried out once the store is back, in order with the store's other effects
        of this commit; the rest are done at once."""
        late: list[Effect] = []
        for effect in todo:
            if late and isinstance(effect, ENGINE_EFFECTS):
                late.append(effect)
                continue
            try:
                await self._carry_one(after, effect)
            except EngineUnavailable:
                late.append(effect)
        if late:
            self._later(self._carry_out_late(after, late), "late effects")

    def _later(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _landed(self, before: Snapshot, table: Table) -> Snapshot | None:
        """The table as a commit of `table` onto `before` left it, if that commit landed."""
        landed = await self._engine.load(table.session)
        if landed is None or landed.version != before.version + 1 or landed.table != table:
            return None
        log.info("a commit to %s landed though its answer was lost", table.session)
        return landed

    async def _settle(self, before: Snapshot, table: Table, todo: Sequence[Effect]) -> None:
        """Once the store answers again, carry out a commit that landed as it went away."""
        while True:
            await until_answers(self._engine, LATE_EVERY)
            try:
                landed = await self._landed(before, table)
                break
            except EngineUnavailable:
                continue
        if landed is not None:
            await self._carry_out(landed, todo)

    async def _carry_out_late(self, after: Snapshot, late: list[Effect]) -> None:
        log.warning("%s of %s wait for the store", late_names(late), after.table.session)
        while late:
            await until_answers(self._engine, LATE_EVERY)
            try:
                while late:
                    await self._carry_one(after, late[0])
                    late.pop(0)
            except EngineUnavailable:
                continue

    async def _carry_one(self, after: Snapshot, effect: Effect) -> None:
        table = after.table
        session = table.session
        match effect:
            case SetTimer(timer=timer, due=due):
                await self._engine.set_deadline(Deadline(session, *timer_key(timer), due))
                self._deadline_set()
            case CancelTimer(timer=timer):
                await self._engine.cancel_deadline(session, *timer_key(timer))
            case StartNarration(nid=nid):
                self.relay.start(session, nid)
            case HurryNarration():
                self.relay.hurry(session)
            case StopNarration():
                self.relay.cancel(session)
            case KeepSnapshot(now=now):
                self._records.snapshot(after, now=now)
            case RecordRound():
                self._records.round_resolved(table)
            case RecordNarration(end=end):
                self._records.narration_ended(table, end)
            case RecordGameOver():
                self._records.game_over(table)
            case RecordClosed():
                self._records.session_closed(session)
            case Forget():
                await self._engine.expire(session, self._settings.closed_ttl)

    async def close(self) -> None:
        """Stop the narrations and the effects still waiting for the store."""
        for task in tuple(self._late):
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)
        await self.relay.close()

    async def _back(self, session: SessionId, command: c.Command) -> Snapshot:
        """A table missing from the live store, brought back from its snapshot for a command
        of one of its players (or of the server's own: a deadline, a narration)."""
        player: PlayerId | None = getattr(command, "player", None)
        if self._records.kept and await self.restore(session, player):
            snapshot = await self._engine.load(session)
            if snapshot is not None:
                return snapshot
        raise ProtocolError(ErrorCode.SESSION_NOT_FOUND, "no such table")

    async def restore(self, session: SessionId, player: PlayerId | None = None) -> bool:
        """Bring back a session whose live state was lost, from its last stored snapshot;
        True when it is live again (restored here, or by another process meanwhile).

        Only a table still in play comes back (never one `over` or `closed`), and only for
        `player` when it is given: one seated in that snapshot. Game ids are public, so a
        stranger naming a session must not bring it (or its old join code) back."""
        stored = await self._records.last_snapshot(session)
        if stored is None or stored.table.phase in FINISHED:
            return False
        if player is not None and stored.table.seat(player) is None:
            return False
        # Events after the snapshot were lost with the live state; numbering goes on well past
        # anything a client can have seen, so no resume mistakes new events for lost ones.
        snapshot = replace(stored, seq=stored.seq + RESTORED_SEQ_GAP)
        if await self._engine.restore(snapshot):
            self._metrics.restore("restored")
            log.warning(
                "restored %s from its stored snapshot (version %d, seq %d)",
                session,
                snapshot.version,
                snapshot.seq,
            )
            await self._carry_out(snapshot, self._effects(None, snapshot.table, ()))
        return True

    async def fire(self, deadline: Deadline) -> None:
        """A timer fell due: close the round, end an away player's grace period, take over
        a narration whose holder went quiet, or store the records of a commit again."""
        with logs.about(deadline.session):
            await self._fire(deadline)

    async def _fire(self, deadline: Deadline) -> None:
        command: c.Command
        if deadline.kind == RECORDS:
            await self._net.fire(deadline)
            return
        log.info("deadline %s %s of %s fired", deadline.kind, deadline.key, deadline.session)
        match timer_of(deadline.kind, deadline.key):
            case RoundDue(round=number):
                command = c.CloseRound(number, now_ms())
            case GraceEnds(player=player):
                command = c.GraceOver(player)
            case NarrationWatch(nid=nid):
                await self.relay.take_over(deadline.session, nid)
                return
            case None:
                log.error("unknown deadline kind %r", deadline.kind)
                return
        try:
            await self.execute(deadline.session, command)
        except ProtocolError as exc:
            log.info("deadline %s of %s: %s", deadline.kind, deadline.session, exc.message)
