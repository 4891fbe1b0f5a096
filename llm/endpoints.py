"""The model servers a hub can use, how busy each is here, and which ones to stay away from.

Each endpoint has a circuit breaker: after `failures` failed requests in a row it opens and
the endpoint gets no requests for `cooldown` seconds (doubling while it keeps failing, up to
`MAX_COOLDOWN`). When the cooldown is over, a `GET /health` probe decides: 200 half-opens it
(requests go again; the next failure opens it at once, the next success closes it), anything
else keeps it open. Narrations meanwhile go to the other endpoints or to the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

from llm.http_client import Answer, HTTPClient
from llm.http_connection import HTTPFailure
from llm.observe import UNOBSERVED, NarrationObserver

log = logging.getLogger("maratang.llm")

MAX_COOLDOWN = 60.0
PROBE_TIMEOUT = 2.0


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

    def allows(self) -> bool:
        return self.state is not State.OPEN

    def probe_due(self, now: float) -> bool:
        return self.state is State.OPEN and now >= self.reopen_at

    def success(self) -> None:
        self.state, self.failed, self.opened_for = State.CLOSED, 0, 0.0

    def failure(self, now: float) -> bool:
        """Count a failed request; True when this failure opened the breaker."""
        self.failed += 1
        if self.state is State.HALF_OPEN or (
            self.state is State.CLOSED and self.failed >= self.failures
        ):
            self._open(now)
            return True
        return False

    def probed(self, healthy: bool, now: float) -> None:
        if healthy:
            self.state = State.HALF_OPEN
        else:
            self._open(now)

    def _open(self, now: float) -> None:
        grown = self.opened_for * 2 if self.opened_for else self.cooldown
        self.opened_for = min(grown, MAX_COOLDOWN)
        self.state, self.reopen_at = State.OPEN, now + self.opened_for


@dataclass
class Endpoint:
    base: str
    """The server's root URL, without `/v1`."""
    breaker: Breaker
    outstanding: int = 0
    """Requests this process has in flight there."""
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
        return f"llm:{self.shown}"


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
    """Least-outstanding choice among the endpoints whose breaker lets requests through."""

    client: HTTPClient
    all: Sequence[Endpoint]
    clock: Callable[[], float]
    observer: NarrationObserver = UNOBSERVED
    """Told of every change of a breaker (`llm.observe`)."""
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
    ) -> Endpoints:
        loop = asyncio.get_running_loop()
        found = [Endpoint(base, Breaker(failures, cooldown)) for base in endpoint_bases(urls)]
        return cls(client, found, loop.time, observer)

    def ready(self) -> list[Endpoint]:
        """The endpoints to try, least busy first; starts the probes that are due."""
        now = self.clock()
        for endpoint in self.all:
            if endpoint.breaker.probe_due(now) and not endpoint.probing:
                self._probe_later(endpoint)
        usable = [e for e in self.all if e.breaker.allows()]
        return sorted(usable, key=lambda e: e.outstanding)

    def failed(self, endpoint: Endpoint, reason: str) -> None:
        if endpoint.breaker.failure(self.clock()):
            self._report(endpoint)
            log.warning(
                "LLM endpoint %s stopped for %.0f s after %s",
                endpoint.shown,
                endpoint.breaker.opened_for,
                reason,
            )

    def succeeded(self, endpoint: Endpoint) -> None:
        if endpoint.breaker.state is not State.CLOSED:
            log.info("LLM endpoint %s is back", endpoint.shown)
        endpoint.breaker.success()
        self._report(endpoint)

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
                endpoint.breaker.probed(await self.healthy(endpoint), self.clock())
                self._report(endpoint)
            finally:
                endpoint.probing = False

        task = asyncio.create_task(probe(), name=f"probe {endpoint.shown}")
        self.probes.add(task)
        task.add_done_callback(self.probes.discard)

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
