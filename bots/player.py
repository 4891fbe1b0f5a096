"""One bot: a guest who signs in, sits at a table, plays every round and checks what it reads.

A bot reads every frame. It checks each event's `seq` (gapless, no repeat, in order), keeps
the table as `protocol.reducer` does but for a narration's text, which it adds up from the
deltas on the side and checks against each `narration.end`, and times what a player would
feel. Its profile decides how its socket misbehaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from typing import Any

from bots.http import HttpError, request
from bots.link import HandshakeRefused, Link, open_link
from bots.profiles import Disruption, Profile
from bots.seating import Game, Order, Seating
from bots.tally import Tally
from protocol import JSON
from protocol.errors import CloseCode
from protocol.reducer import View, apply_event, own_bowl

Message = dict[str, Any]
TERMINAL = frozenset({CloseCode.UNAUTHORIZED, CloseCode.ABUSE})
"""Closes a client must not resume after (§10 of the protocol)."""
ATTEMPTS = 8
"""Tries a bot makes to sign in, or to open a socket, before it gives up."""
ANSWER_TIMEOUT = 30.0
BUSY_BACKOFF, BUSY_BACKOFF_MAX = 0.2, 2.0
"""Seconds before sending again a command answered `busy`, doubling up to the most."""


class BotFailed(Exception):
    """The bot could not go on playing (refused, cut off for good, or out of time)."""


class Refused(BotFailed):
    """A command answered with an `error` the bot does not retry."""

    def __init__(self, kind: str, code: str) -> None:
        super().__init__(f"{kind} refused: {code}")
        self.code = code


class Bot:
    def __init__(self, game: Game, profile: Profile, seating: Seating, name: str, seed: int):
        self.game, self.profile, self.seating, self.name = game, profile, seating, name
        self.codec = JSON if profile.json_only else game.codec
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.token = ""
        self.link: Link | None = None
        self.view: View = {}
        self.session = ""
        self.order = Order(self.tally)
        self.rids = itertools.count(1)
        self.pending: dict[int, tuple[float, asyncio.Future[Message]]] = {}
        self.welcome: asyncio.Future[Message] | None = None
        self.resume_outcome_due = False
        self.connected = asyncio.Event()
        self.seated = asyncio.Event()
        self.in_table = asyncio.Event()
        """Set by the first `sync`: the bot has a table to resume from then on."""
        self.done = asyncio.Event()
        self.failure: BaseException | None = None
        self.stopped = asyncio.Event()
        self.resuming = False
        self.leaving = False
        self.told: dict[str, str] = {}
        self.frame_at: float | None = None
        self.round_began: dict[int, float] = {}
        self.entrance_told: dict[int, float] = {}
        self.disturbed: set[int] = set()
        """Rounds whose timings the bot's own mishaps would skew: left out of the figures."""
        self.stall_end = 0.0
        self.not_before = 0.0
        """No reconnect before this moment (a `bye` asks for `retry_ms`)."""
        """When the bot last read again after not reading: answers to commands sent before
        then say how long it did not read, not how fast the server was."""
        self.picking: set[int] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    # --- playing ---------------------------------------------------------------------

    async def play(self, host: bool) -> None:
        """Sign in, sit down, play the whole game and leave; raises BotFailed."""
        try:
            await self.sign_in()
            await self.reach(first=True)
            await (self.host() if host else self.join())
            await self.until(self.done)
            await self.leave()
        finally:
            for task in self.tasks:
                task.cancel()
            if self.link is not None:
                self.link.abort()

    async def sign_in(self) -> None:
        """A guest token; asked again with backoff while the server (or the proxy before it)
        cannot answer."""
        body = {"name": self.name}
        for attempt in range(ATTEMPTS):
            try:
                answer = await request(
                    self.game.base_url, "POST", "/api/auth/guest", body, self.game.tls
                )
                self.token = answer["token"]
                return
            except HttpError as exc:
                if exc.status < 500:
                    raise BotFailed(f"sign-in refused: {exc}") from exc
            except (OSError, TimeoutError):
                pass
            await asyncio.sleep(self.profile.backoff(attempt, self.rng))
        raise BotFailed("could not sign in")

    async def host(self) -> None:
        await self.sit(create=True)
        await self.until(self.seated)
        repeated = False
        while True:
            try:
                await self.command("game.start")
                return
            except ConnectionError:
                repeated = True  # lost before its answer: sent again on the next socket
            except Refused as exc:
                if repeated and exc.code == "wrong_phase":
                    return  # the first one had started the game
                raise

    async def join(self) -> None:
        await self.sit(create=False)

    async def sit(self, create: bool) -> None:
        """Create a table (the host) or join the host's, until its `sync` came. After a
        socket lost before that, the next socket sends a join again (safe: a join finds the
        seat the first one took), or the create again unless its ack had come: then the
        table's code is joined instead, as a repeated create would leave that table."""
        code = None if create else await self.seating.code
        while True:
            try:
                if code is None:
                    settings = {"rounds": self.game.rounds, "seconds": self.game.seconds}
                    ack = await self.command("session.create", settings=settings)
                    code = ack["code"]
                    self.seating.code.set_result(code)
                else:
                    await self.command("session.join", code=code)
            except ConnectionError:
                continue
            assert self.link is not None
            await self.until(self.in_table, self.link.closed)
            if self.in_table.is_set():
                return

    async def leave(self) -> None:
        self.leaving = True
        with contextlib.suppress(BotFailed, ConnectionError, TimeoutError):
            await self.command("session.leave")
        if self.resume_outcome_due:
            self.tally.resumes["replayed"] += 1  # nothing was missed, nothing came
        if self.link is not None:
            self.link.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.link.closed), ANSWER_TIMEOUT)

    async def until(self, event: asyncio.Event, *also: asyncio.Future[Any]) -> None:
        """Wait for `event` (or any of `also`), or raise BotFailed when the bot stops first."""
        waits: list[asyncio.Future[Any]] = [asyncio.shield(future) for future in also]
        waits += [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.stopped.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if self.failure is not None:
            raise BotFailed(str(self.failure)) from self.failure

    def fail(self, reason: BaseException) -> None:
        if self.failure is None:
            self.failure = reason
            self.stopped.set()

    async def pick(self, round_: int) -> None:
        """Submit a bowl at a human-like moment, now and then change one's mind."""
        await asyncio.sleep(self.rng.uniform(0.1, 1.0) * self.game.think_s)
        await self.submit(round_)
        if self.rng.random() < 0.2:
            await asyncio.sleep(self.rng.uniform(0, 0.2) * self.game.think_s)
            await self.submit(round_)

    async def submit(self, round_: int) -> None:
        bowl: Message = {
            "ingredients": self.rng.sample(self.game.ingredients, self.rng.randint(3, 6)),
            "spice": self.rng.randint(0, 4),
        }
        for _ in range(ATTEMPTS):
            if self.view.get("phase") != "picking" or self.view.get("round") != round_:
                return
            await self.until(self.connected)
            sent = time.monotonic()
            self.seating.submitted(round_, sent)  # others may see the tasting before the ack
            try:
                await self.command("bowl.submit", round=round_, **bowl)
            except ConnectionError:
                continue
            except BotFailed:
                self.seating.refused(round_, sent)
                return  # the round closed first: a refusal, already counted
            self.view = own_bowl(self.view, bowl)
            return

    # --- the socket ------------------------------------------------------------------

    async def connect(self) -> None:
        """Open a socket and say hello: resuming the bot's table, once it had its `sync`."""
        resume = self.in_table.is_set()
        started = time.monotonic()
        link = await open_link(
            self.game.ws_url, self.codec.subprotocol, self.received, self.game.tls
        )
        opened = time.monotonic()
        self.tally.time("connect_ms", (opened - started) * 1000)
        self.link = link
        self.spawn(self.watch(link))
        hello: Message = {"t": "hello", "token": self.token}
        if resume:
            hello["resume"] = {"session": self.session, "seq": self.order.seq}
        self.welcome = asyncio.get_running_loop().create_future()
        self.resuming = resume
        self.send(hello)
        welcome = await asyncio.wait_for(self.welcome, ANSWER_TIMEOUT)
        self.tally.time("welcome_ms", (time.monotonic() - opened) * 1000)
        if resume and "session" not in welcome:
            raise BotFailed("the seat was gone on resume")
        if resume:
            self.disturb()
        self.connected.set()

    async def watch(self, link: Link) -> None:
        """When the socket ends without the bot leaving, resume on a new one."""
        code = await link.closed
        self.tally.closes[code] += 1
        if link is not self.link or self.leaving:
            return
        if self.welcome is not None and not self.welcome.done():
            self.welcome.set_exception(ConnectionError(f"closed with {code} before the welcome"))
            return  # the connect under way tries again
        self.lost_socket()
        if code in TERMINAL:
            self.fail(BotFailed(f"closed with {code}"))
            return
        await self.reconnect(time.monotonic())

    def lost_socket(self) -> None:
        self.connected.clear()
        self.disturb()
        for _, answer in self.pending.values():
            if not answer.done():
                answer.set_exception(ConnectionError("socket lost"))
        self.pending.clear()

    async def reconnect(self, lost_at: float) -> None:
        try:
            await self.reach(first=False)
        except BotFailed as exc:
            self.tally.resumes["failed"] += 1
            self.fail(exc)
            return
        self.tally.time("resume_ms", (time.monotonic() - lost_at) * 1000)

    async def reach(self, first: bool) -> None:
        """`connect`, again with the protocol's backoff (§10) while the server cannot be
        reached, refuses the upgrade for the moment or answers the hello `busy`; BotFailed
        when refused for good (403, 4401) or after `ATTEMPTS`. Only a `first` try goes at
        once."""
        for attempt in range(ATTEMPTS):
            if attempt > 0 or not first:
                wait = self.profile.backoff(attempt, self.rng)
                await asyncio.sleep(max(wait, self.not_before - time.monotonic()))
            try:
                await self.connect()
                return
            except HandshakeRefused as exc:
                if exc.status == 403:
                    raise BotFailed(str(exc)) from exc
            except (OSError, TimeoutError, ConnectionError):
                pass
        raise BotFailed("could not connect")

    async def disrupt(self, round_: int) -> None:
        """A mobile mishap at a random moment of the round."""
        kind = self.profile.disruption(self.rng)
        await asyncio.sleep(self.rng.uniform(0, 1.0) * self.game.think_s)
        link = self.link
        if kind is None or link is None or self.done.is_set() or not self.connected.is_set():
            return
        self.disturb()
        if kind is Disruption.DROP:
            link.abort()
        elif kind is Disruption.PAUSE:
            link.pause()
            await asyncio.sleep(self.rng.uniform(*self.profile.pause_s))
            self.disturb()
            link.resume()
        else:
            await self.switch(link)

    def disturb(self) -> None:
        """Leave the current round and the next out of the timings, and start the gaps
        between frames afresh."""
        round_ = self.view.get("round", 0)
        self.disturbed.update({round_, round_ + 1})
        self.frame_at = None
        self.stall_end = time.monotonic()

    async def switch(self, old: Link) -> None:
        """A new network: a new socket says `hello {resume}`, the old one is left to die."""
        lost_at = time.monotonic()
        self.lost_socket()
        try:
            await self.connect()
        except (OSError, TimeoutError, ConnectionError):
            old.abort()
            await self.reconnect(lost_at)
            return
        except BotFailed as exc:
            self.tally.resumes["failed"] += 1
            self.fail(exc)
            return
        old.abort()
        self.tally.time("resume_ms", (time.monotonic() - lost_at) * 1000)

    def spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.fail(task.exception())  # type: ignore[arg-type]

    async def command(self, kind: str, **fields: Any) -> Message:
        """Send a command and wait for its answer: the `ack`, or BotFailed for an `error`.
        A command answered `busy` (the server's store is away for the moment) is sent again
        with backoff, as the protocol asks, for up to `ANSWER_TIMEOUT` seconds."""
        give_up = time.monotonic() + ANSWER_TIMEOUT
        backoff = BUSY_BACKOFF
        while True:
            reply = await self._ask(kind, **fields)
            if reply["t"] != "error":
                return reply
            if reply["code"] != "busy" or time.monotonic() + backoff > give_up:
                raise Refused(kind, reply["code"])
            await asyncio.sleep(backoff)  # the protocol's backoff, not a synchronisation
            backoff = min(backoff * 2, BUSY_BACKOFF_MAX)

    async def _ask(self, kind: str, **fields: Any) -> Message:
        await self.until(self.connected)
        rid = next(self.rids)
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.pending[rid] = (time.monotonic(), answer)
        self.send({"t": kind, "rid": rid, **fields})
        return await asyncio.wait_for(answer, ANSWER_TIMEOUT)

    def send(self, message: Message) -> None:
        assert self.link is not None
        self.link.send(self.codec.encode(message))

    # --- reading ---------------------------------------------------------------------

    def received(self, link: Link, frame: bytes | str) -> None:
        if link is not self.link:
            return  # the old socket of a network switch
        self.tally.frames += 1
        message = self.codec.decode(frame)
        kind = message["t"]
        if self.resume_outcome_due and kind != "welcome":
            self.resume_outcome_due = False
            self.tally.resumes["sync" if kind == "sync" else "replayed"] += 1
        if kind == "narration.delta":  # the most frequent frame, and the view holds no text
            if self.order.take(message["seq"]):
                self.narration_delta(message)
        elif "seq" in message and kind != "sync":
            self.event(kind, message)
        else:
            REPLIES.get(kind, Bot.ignored)(self, message)

    def ignored(self, message: Message) -> None:
        pass

    def welcomed(self, message: Message) -> None:
        if self.welcome is not None and not self.welcome.done():
            self.resume_outcome_due = self.resuming and "session" in message
            self.welcome.set_result(message)

    def bye(self, message: Message) -> None:
        self.not_before = time.monotonic() + message["retry_ms"] / 1000

    def answered(self, message: Message) -> None:
        if "rid" not in message and self.welcome is not None and not self.welcome.done():
            refused = f"hello refused: {message.get('code')}"
            retry = message.get("retry") is True  # `busy`: the store is away for the moment
            self.welcome.set_exception(ConnectionError(refused) if retry else BotFailed(refused))
            return
        sent, answer = self.pending.pop(message.get("rid", -1), (0.0, None))
        if answer is None or answer.done():
            return
        if message["t"] == "error":
            self.tally.errors += 1
        elif sent >= self.stall_end:
            self.tally.time("ack_ms", (time.monotonic() - sent) * 1000)
        answer.set_result(message)

    def synced(self, message: Message) -> None:
        self.session = message["session"]
        self.in_table.set()
        self.order.restart(message["seq"])
        self.view = message["state"]
        narration = self.view.get("narration")
        if narration is not None and "source" not in narration:
            self.told[narration["nid"]] = narration["text"]
        self.frame_at = None
        self.after_change()
        if narration is not None and narration["nid"] == "finale" and "source" in narration:
            self.done.set()

    def event(self, kind: str, message: Message) -> None:
        if not self.order.take(message["seq"]):
            return
        self.view = apply_event(self.view, message)
        EVENTS.get(kind, Bot.ignored)(self, message)
        self.after_change()

    def after_change(self) -> None:
        if len(self.view.get("players", ())) >= self.seating.players:
            self.seated.set()
        round_ = self.view.get("round", 0)
        if self.view.get("phase") == "picking" and round_ not in self.picking:
            self.picking.add(round_)
            if self.view.get("bowl") is None:
                self.spawn(self.pick(round_))
            if self.profile.disruptions and (round_ == 1 or self.rng.random() < 0.5):
                self.spawn(self.disrupt(round_))

    def round_started(self, message: Message) -> None:
        self.round_began[message["round"]] = time.monotonic()

    def narration_started(self, message: Message) -> None:
        self.told[message["nid"]] = ""
        self.frame_at = time.monotonic()

    def narration_delta(self, message: Message) -> None:
        """A delta's text is added up in `told` alone: `narration.end` brings the view the
        whole text, checked against it."""
        now = time.monotonic()
        nid, round_ = message["nid"], self.view.get("round", 0)
        told = self.told.get(nid, "")
        first = told == "" and nid in self.told
        self.told[nid] = told + message["text"]
        self.gap(now, round_)
        if first and round_ not in self.disturbed:
            self.first_delta(nid, round_, now)

    def first_delta(self, nid: str, round_: int, now: float) -> None:
        if nid.endswith(".entrance") and round_ in self.round_began:
            self.tally.time("first_entrance_ms", (now - self.round_began[round_]) * 1000)
        elif nid.endswith(".tasting") and (last := self.seating.last_bowl(round_)):
            after = max(last, self.entrance_told.get(round_, 0.0))
            self.tally.time("first_tasting_ms", (now - after) * 1000)

    def gap(self, now: float, round_: int) -> None:
        if self.frame_at is not None and round_ not in self.disturbed:
            self.tally.time("frame_gap_ms", (now - self.frame_at) * 1000)
        self.frame_at = now

    def narration_ended(self, message: Message) -> None:
        now = time.monotonic()
        nid = message["nid"]
        self.gap(now, self.view.get("round", 0))
        self.frame_at = None
        if nid in self.told and self.told.pop(nid) != message["text"]:
            self.tally.mismatched += 1
        self.tally.sources[message["source"]] += 1
        if nid.endswith(".entrance"):
            self.entrance_told[self.view.get("round", 0)] = now
        if nid == "finale":
            self.done.set()


REPLIES = {
    "welcome": Bot.welcomed,
    "ack": Bot.answered,
    "error": Bot.answered,
    "pong": Bot.answered,
    "sync": Bot.synced,
    "bye": Bot.bye,
}
EVENTS = {
    "round.started": Bot.round_started,
    "narration.start": Bot.narration_started,
    "narration.end": Bot.narration_ended,
}
