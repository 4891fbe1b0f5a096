"""The table service: commands → rules → engine commit → events to every player.

Every change to a table goes through `execute`: load the table, apply the rules, commit
with the version it was loaded at, and on a conflict (another command committed first)
do it all again. After a commit the service carries out what `game.effects` says follows
(timers, narrations, records): it decides nothing of its own. A restored table is rearmed
by the same function, so a restore and a commit cannot disagree on what a table waits for.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace

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
from realtime.clock import now_ms
from realtime.metrics import Metrics
from realtime.relay import Relay
from realtime.settings import Settings as ServerSettings
from storage.engine import (
    RESTORED_SEQ_GAP,
    CodeTaken,
    Deadline,
    Engine,
    Snapshot,
    VersionConflict,
    lane,
)
from storage.records import Records

log = logging.getLogger("maratang.service")

MAX_ATTEMPTS = 16
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
        """Apply `command` to the table and commit it; retried on version conflicts."""
        for _ in range(MAX_ATTEMPTS):
            snapshot = await self._engine.load(session) or await self._back(session, command)
            table, events = apply(snapshot.table, command)
            if not events:
                return snapshot
            try:
                logged = await self._engine.commit(session, snapshot.version, table, events)
            except VersionConflict:
                continue
            told = lane(table, snapshot.told)
            after = Snapshot(table, snapshot.version + 1, logged[-1].seq, told)
            await self._carry_out(after, self._effects(snapshot.table, table, events))
            return after
        raise ProtocolError(ErrorCode.BUSY, "the table is busy, try again")

    def _effects(
        self, before: Table | None, after: Table, events: Sequence[Event]
    ) -> tuple[Effect, ...]:
        grace_ms = int(self._settings.grace_seconds * 1000)
        return effects(before, after, events, now_ms(), grace_ms)

    async def _carry_out(self, after: Snapshot, todo: Sequence[Effect]) -> None:
        """Do what `game.effects` decided, in order."""
        table = after.table
        session = table.session
        for effect in todo:
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
        """A timer fell due: close the round, end an away player's grace period, or take
        over a narration whose holder went quiet."""
        command: c.Command
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
