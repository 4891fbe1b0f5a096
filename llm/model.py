"""`ModelNarrator`: narration streamed from an OpenAI-compatible model server (vLLM), with the
fallback narrator taking over whenever the model cannot tell it in time.

Admission: each endpoint takes at most `slots` narrations at once, counted across every hub
process through a `SlotStore` (the engine's slots); it asks first the endpoint with the
fewest narrations from every hub, as the engine counted them just before (`llm.endpoints`),
and does not ask one counted full. A narration that finds every endpoint full waits up to
`queue_seconds`, then is told by the fallback: the game never waits long for the GPU. This
process's waiting narrations get slots best priority first (tastings, then entrances, then
finales; `llm.waiting`), and one admitted while many wait asks for fewer tokens
(`llm.shorten`), so the queue drains sooner. The fallback also takes over when a
request fails or breaches a budget, going on from the text the model already told, so
`narration.end.source` is `llm`, `fallback` or `mixed`. A narration going on from text already
told (taken over from a process that died, or paused while the store was away) is finished by
the fallback: that text holds the players' names, which the model must never see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Protocol

from llm.chat import ModelError, Sampling, request_body
from llm.client import Budgets, StreamStats, stream_chat
from llm.endpoints import Choice, Endpoint, Endpoints
from llm.facts import NarrationFacts
from llm.http_client import HTTPClient
from llm.narrator import Narrator, Piece
from llm.observe import NarrationObserver
from llm.prompts import max_tokens, messages
from llm.shorten import Step, step_for
from llm.waiting import PRIORITY, Ticket, WaitingLine

log = logging.getLogger("maratang.llm")

POLL_SECONDS = 0.05
"""How often a narration waiting for a slot asks again."""
SLOT_SPARE_SECONDS = 5.0
"""A slot outlives its request's total budget by this much, then frees itself (its process
died without releasing it)."""
SENTENCE_ENDS = (".", "!", "?", "…", "。", "~")
NOT_THE_SERVERS_FAULT = frozenset({400, 413, 422})
"""Refusals caused by the request (a prompt too long), which say nothing of the server."""


class SlotStore(Protocol):
    """Admission slots shared by every hub process (the engine). `acquire_slot` is False
    when the pool is full or the store cannot be reached; `release_slot` never raises."""

    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool: ...

    async def release_slot(self, pool: str, holder: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ModelConfig:
    sampling: Sampling
    budgets: Budgets
    slots: int
    """Narrations one endpoint takes at once (across every hub process)."""
    queue_seconds: float
    api_key: str = ""
    priority: bool = False
    """Send vLLM each narration's `priority` (only to a vLLM run with
    `--scheduling-policy priority`)."""
    shorten: tuple[Step, ...] = ()
    """How much shorter a narration is asked to be as more narrations wait for a slot."""


@dataclass(frozen=True, slots=True)
class _Admitted:
    endpoint: Endpoint
    behind: int
    """This process's narrations still waiting for a slot when this one got it."""


class _Handover:
    """Why the model stopped before the end (None: it did not)."""

    reason: str | None = None


class ModelNarrator:
    asking = 0
    """This process's narrations asking for a model slot now: most get one at once, the rest
    wait for one up to `queue_seconds` (the table inspector shows how many)."""

    def __init__(
        self,
        client: HTTPClient,
        endpoints: Endpoints,
        slots: SlotStore,
        fallback: Narrator,
        config: ModelConfig,
        observer: NarrationObserver,
        holder: str,
    ) -> None:
        self._client = client
        self._endpoints = endpoints
        self._slots = slots
        self._fallback = fallback
        self._config = config
        self._observer = observer
        self._holder = holder
        self._line = WaitingLine()
        self.headers = {"authorization": f"Bearer {config.api_key}"} if config.api_key else {}

    async def stream(
        self, facts: NarrationFacts, hurry: asyncio.Event, already: str = ""
    ) -> AsyncGenerator[Piece, None]:
        said = ""
        handover = _Handover()
        if already:
            handover.reason = "resumed"
        else:
            # aclosing: if this stream is closed early, the model request is closed at once
            async with contextlib.aclosing(self._from_model(facts, hurry, handover)) as model:
                async for piece in model:
                    said += piece.text
                    yield piece
        if handover.reason is None:
            return
        self._observer.fallback(handover.reason)
        told = already + facts.cast.fill(said)
        async with contextlib.aclosing(self._fallback.stream(facts, hurry, told)) as fallback:
            async for piece in fallback:
                yield piece

    async def _from_model(
        self, facts: NarrationFacts, hurry: asyncio.Event, handover: _Handover
    ) -> AsyncGenerator[Piece, None]:
        holder = f"{self._holder}/{facts.session}/{facts.nid}"
        admitted = await self._asking(holder, hurry, self._line.ticket(facts.kind))
        if isinstance(admitted, str):
            handover.reason = admitted
            return
        endpoint = admitted.endpoint
        scale = self._scale(admitted.behind)
        stats = StreamStats()
        endpoint.outstanding += 1
        self._observer.requests_in_flight(1)
        asked = max_tokens(facts, self._config.sampling.max_tokens, scale)
        try:
            request = self._request(endpoint, facts, stats, asked, scale)
            text = ""
            async with contextlib.aclosing(request) as texts:
                async for text in texts:
                    yield Piece(text, "llm", asked if stats.pieces == 1 else 0)
                    if hurry.is_set():  # the next narration waits: stop the model here
                        break
            stopped = hurry.is_set() or stats.finish_reason == "length"
            if stopped and text and not text.rstrip().endswith(SENTENCE_ENDS):
                yield Piece("…", "llm")  # stopped mid-sentence: it trails off, not breaks off
            if stats.pieces == 0:
                raise ModelError("empty", "the model finished without saying anything")
            self._endpoints.succeeded(endpoint)
            self._observe(stats)
        except ModelError as exc:
            handover.reason = exc.reason
            await self._failed(endpoint, facts, exc)
        finally:
            endpoint.outstanding -= 1
            self._observer.requests_in_flight(-1)
            await self._slots.release_slot(endpoint.pool, holder)

    def _scale(self, behind: int) -> float:
        """The share of its tokens a narration admitted with `behind` others waiting asks for."""
        step = step_for(self._config.shorten, behind)
        if step is None:
            return 1.0
        self._observer.shortened(step.label)
        return step.scale

    def _request(
        self,
        endpoint: Endpoint,
        facts: NarrationFacts,
        stats: StreamStats,
        asked: int,
        scale: float,
    ) -> AsyncGenerator[str, None]:
        sampling = replace(self._config.sampling, max_tokens=asked)
        priority = PRIORITY[facts.kind] if self._config.priority else None
        body = request_body(messages(facts, scale), sampling, priority)
        headers = {"x-request-id": f"{facts.session}-{facts.nid}", **self.headers}
        return stream_chat(
            self._client, endpoint.chat_url, body, self._config.budgets, stats, headers
        )

    async def _asking(self, holder: str, hurry: asyncio.Event, ticket: Ticket) -> _Admitted | str:
        """`_admit`, counted in `asking` while it lasts."""
        self.asking += 1
        try:
            return await self._admit(holder, hurry, ticket)
        finally:
            self.asking -= 1

    async def _admit(self, holder: str, hurry: asyncio.Event, ticket: Ticket) -> _Admitted | str:
        """An endpoint with a slot taken for `holder`, or why there is none. While a better
        narration of this process waits, this one does not try (`WaitingLine`)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._config.queue_seconds
        try:
            while True:
                if self._line.may_try(ticket):
                    ready = await self._endpoints.ready()
                    if not ready:
                        return "unavailable"
                    endpoint = await self._acquire(ready, holder)
                    if endpoint is not None:
                        return _Admitted(endpoint, self._line.others(ticket))
                elif not self._endpoints.usable():
                    return "unavailable"
                if hurry.is_set() or loop.time() >= give_up:
                    return "busy"
                if self._line.join(ticket):
                    self._observer.narrations_waiting(1)
                await asyncio.sleep(POLL_SECONDS)
        finally:
            if self._line.leave(ticket):
                self._observer.narrations_waiting(-1)

    async def _acquire(self, ready: list[Choice], holder: str) -> Endpoint | None:
        """The first of `ready` that had a slot free, now taken for `holder`. One the engine
        just counted full is not asked."""
        ttl = self._config.budgets.total + SLOT_SPARE_SECONDS
        limit = self._config.slots
        for choice in ready:
            if choice.taken is not None and choice.taken >= limit:
                continue
            endpoint = choice.endpoint
            endpoint.asking += 1
            try:
                taken = await self._slots.acquire_slot(endpoint.pool, holder, limit, ttl)
            finally:
                endpoint.asking -= 1
            if taken:
                return endpoint
        return None

    async def _failed(self, endpoint: Endpoint, facts: NarrationFacts, exc: ModelError) -> None:
        log.warning(
            "model narration %s of %s handed to the fallback: %s", facts.nid, facts.session, exc
        )
        if exc.reason == "stall":
            self._observer.stalled()
        if not (exc.reason == "refused" and exc.status in NOT_THE_SERVERS_FAULT):
            await self._endpoints.failed(endpoint, exc.reason)

    def _observe(self, stats: StreamStats) -> None:
        if stats.first_text is None or stats.last_text is None:
            return
        self._observer.first_token(stats.first_text - stats.started)
        tokens = stats.completion_tokens or stats.pieces
        elapsed = stats.last_text - stats.first_text
        if tokens > 1 and elapsed > 0:
            self._observer.time_per_output_token(elapsed / (tokens - 1))
