"""The model servers a hub can use, how busy each is across every hub, and which ones to stay
away from.

Each endpoint has a circuit breaker (`llm.breaker`), shared by the hubs through the engine
(`llm.shared`): one hub's breaker opening stops every hub's requests to that server at their
next narration, and one probe after the cooldown lets them all go again. Narrations meanwhile
go to the other endpoints or to the fallback. The choice among the rest is the endpoint with
the fewest narrations streaming there from every hub (the engine's slot counts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from llm.breaker import Breaker, State
from llm.http_client import Answer, HTTPClient
from llm.http_connection import HTTPFailure
from llm.observe import UNOBSERVED, NarrationObserver
from llm.shared import Reading, SharedBreakers, Unshared, slots_pool

log = logging.getLogger("maratang.llm")

PROBE_TIMEOUT = 2.0
UNSHARED = SharedBreakers(Unshared(), "")


@dataclass
class Endpoint:
    base: str
    """The server's root URL, without `/v1`."""
    breaker: Breaker
    outstanding: int = 0
    """Requests this process has in flight there."""
    asking: int = 0
    """This process's narrations taking one of its slots now (not counted by the engine
    yet, maybe)."""
    probing: bool = False

    @property
    def chat_url(self) -> str:
        return f"{self.base}/v1/chat/completions"

    @property
    def shown(self) -> str:
        """The URL as logs show it: without a user or password."""
        parts = urlsplit(self.base)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    @property
    def address(self) -> str:
        """host:port, as the metrics name the server (no user, no password)."""
        parts = urlsplit(self.base)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.hostname}:{port}"

    @property
    def pool(self) -> str:
        """The name of its narration slots in the engine, shared by every hub process."""
        return slots_pool(self.shown)


@dataclass(frozen=True, slots=True)
class Choice:
    """An endpoint whose breaker lets requests through, and how busy it is."""

    endpoint: Endpoint
    taken: int | None
    """Its slots held across every hub (None: the engine did not say)."""

    def load(self) -> tuple[int, int]:
        """What the choice orders by: narrations there from every hub (never fewer than this
        process's own, which a count read a moment ago may miss), with this process's about
        to join; then this process's own."""
        endpoint = self.endpoint
        across = max(self.taken or 0, endpoint.outstanding)
        return across + endpoint.asking, endpoint.outstanding


def endpoint_bases(urls: str) -> list[str]:
    """The comma-separated `urls` as root URLs: trailing `/` and `/v1` removed (operators
    paste either form), duplicates dropped. Raises ValueError for one that is not http(s)."""
    bases: list[str] = []
    for url in (u.strip() for u in urls.split(",")):
        if not url:
            continue
        if not url.startswith(("http://", "https://")):
            raise ValueError("an LLM URL must start with http:// or https://")
        base = url.rstrip("/").removesuffix("/v1").rstrip("/")
        if base not in bases:
            bases.append(base)
    return bases


@dataclass
class Endpoints:
    """Least-outstanding choice (across every hub) among the endpoints whose breaker lets
    requests through."""

    client: HTTPClient
    all: Sequence[Endpoint]
    clock: Callable[[], float]
    observer: NarrationObserver = UNOBSERVED
    """Told of every change of a breaker (`llm.observe`)."""
    shared: SharedBreakers = UNSHARED
    """What the hubs share of each endpoint (default: nothing, each process on its own)."""
    probes: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for endpoint in self.all:
            self._report(endpoint)

    @classmethod
    def from_urls(
        cls,
        client: HTTPClient,
        urls: str,
        failures: int,
        cooldown: float,
        observer: NarrationObserver = UNOBSERVED,
        shared: SharedBreakers = UNSHARED,
    ) -> Endpoints:
        loop = asyncio.get_running_loop()
        found = [Endpoint(base, Breaker(failures, cooldown)) for base in endpoint_bases(urls)]
        return cls(client, found, loop.time, observer, shared)

    async def ready(self) -> list[Choice]:
        """The endpoints to try, least busy across every hub first, once what the other hubs
        found of each is learned; starts the probes that are due."""
        changes = [e.breaker.changes for e in self.all]
        readings = await self.shared.read([e.shown for e in self.all])
        now = self.clock()
        for endpoint, before, reading in zip(self.all, changes, readings, strict=True):
            if endpoint.breaker.changes == before:  # else the reading may be older than it
                self._learn(endpoint, reading, now)
            if endpoint.breaker.probe_due(now) and not endpoint.probing:
                self._probe_later(endpoint)
        found = zip(self.all, readings, strict=True)
        return sorted((Choice(e, r.taken) for e, r in found if e.breaker.allows()), key=Choice.load)

    def usable(self) -> bool:
        """Whether any breaker lets requests through, as this process last knew."""
        return any(e.breaker.allows() for e in self.all)

    def _learn(self, endpoint: Endpoint, reading: Reading, now: float) -> None:
        """Open or close `endpoint`'s breaker as another hub did."""
        where = f"LLM endpoint {endpoint.shown}"
        if reading.open and endpoint.breaker.mirror(now):
            log.warning("%s stopped: another hub's breaker opened", where)
        elif reading.open is False and endpoint.breaker.released():
            log.info("%s is back: another hub's probe found it healthy", where)
        else:
            return
        self._report(endpoint)

    async def failed(self, endpoint: Endpoint, reason: str) -> None:
        """Count a failed request; one that opens the breaker is told to every hub before
        this returns."""
        if endpoint.breaker.failure(self.clock()):
            self._report(endpoint)
            log.warning(
                "LLM endpoint %s stopped for %.0f s after %s",
                endpoint.shown,
                endpoint.breaker.opened_for,
                reason,
            )
            await self._tell_opened(endpoint)

    def succeeded(self, endpoint: Endpoint) -> None:
        if endpoint.breaker.state is not State.CLOSED:
            log.info("LLM endpoint %s is back", endpoint.shown)
        endpoint.breaker.success()
        self._report(endpoint)

    async def _tell_opened(self, endpoint: Endpoint) -> None:
        if await self.shared.opened(endpoint.shown, endpoint.breaker.opened_for):
            endpoint.breaker.published()

    def _report(self, endpoint: Endpoint) -> None:
        self.observer.breaker(endpoint.address, endpoint.breaker.state is not State.CLOSED)

    async def healthy(self, endpoint: Endpoint) -> bool:
        try:
            answer = await self.client.get(f"{endpoint.base}/health", timeout=PROBE_TIMEOUT)
        except HTTPFailure:
            return False
        return answer.status == 200

    async def survey(self, model: str, headers: dict[str, str]) -> list[tuple[int, str]]:
        """What each endpoint answers now, as (log level, line): is it up, does it serve
        `model`."""
        return [await self._survey(endpoint, model, headers) for endpoint in self.all]

    async def _survey(
        self, endpoint: Endpoint, model: str, headers: dict[str, str]
    ) -> tuple[int, str]:
        where = f"LLM endpoint {endpoint.shown}"
        try:
            health = await self.client.get(f"{endpoint.base}/health", timeout=PROBE_TIMEOUT)
            listed = await self.client.get(
                f"{endpoint.base}/v1/models", timeout=PROBE_TIMEOUT, headers=headers
            )
        except HTTPFailure as exc:
            return logging.WARNING, (
                f"{where} is unreachable ({type(exc).__name__}): narrations are told by the "
                "fallback until it answers"
            )
        served = _model_ids(listed)
        if model not in served:
            return logging.ERROR, (
                f"{where} does not serve {model!r} (it serves {', '.join(served) or 'nothing'}; "
                f"/v1/models answered {listed.status}): set MARATANG_LLM_MODEL"
            )
        return logging.INFO, f"{where} serves {model!r} (health: {health.status})"

    def _probe_later(self, endpoint: Endpoint) -> None:
        endpoint.probing = True

        async def probe() -> None:
            try:
                await self._probe(endpoint)
            finally:
                endpoint.probing = False

        task = asyncio.create_task(probe(), name=f"probe {endpoint.shown}")
        self.probes.add(task)
        task.add_done_callback(self.probes.discard)

    async def _probe(self, endpoint: Endpoint) -> None:
        """One `GET /health` for every hub: the hub that takes the probe asks, and tells the
        others what it found; while another hub holds it, this one looks again later."""
        taken = await self.shared.probe_turn(endpoint.shown, endpoint.breaker.shared)
        if taken is False:
            endpoint.breaker.postpone(self.clock() + PROBE_TIMEOUT)
            return
        healthy = await self.healthy(endpoint)
        endpoint.breaker.probed(healthy, self.clock())
        self._report(endpoint)
        if taken is None:  # the store is away: this process alone
            return
        if healthy:
            await self.shared.closed(endpoint.shown)
        else:
            await self._tell_opened(endpoint)

    async def close(self) -> None:
        for task in list(self.probes):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _model_ids(listed: Answer) -> list[str]:
    try:
        found = listed.json() if listed.status == 200 else None
    except ValueError:
        return []
    data = found.get("data") if isinstance(found, dict) else None
    return [str(m.get("id")) for m in data or [] if isinstance(m, dict)]
