"""The narrator a hub runs: the fallback alone, or a model server with the fallback behind it."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from llm.chat import Sampling
from llm.checks import CheckedNarrator, Checks
from llm.client import Budgets
from llm.endpoints import Endpoints, endpoint_bases
from llm.fallback import FallbackNarrator
from llm.guard import ModelGuard
from llm.http_client import HTTPClient
from llm.lexicon import Lexicon
from llm.model import ModelConfig, ModelNarrator
from llm.narrator import Narrator
from llm.shared import SharedBreakers
from llm.shorten import parse_steps
from realtime.metrics import Metrics
from realtime.settings import Settings
from storage.engine import Engine, EngineUnavailable

log = logging.getLogger("maratang.llm")

SPARE_CONNECTIONS = 8
"""Connections beyond the narration slots: health probes and the odd request in overlap."""


class EngineShared:
    """The engine, seen by the narrator: its slots (admission) and what the hubs share of the
    model servers (`llm.shared`). A store that is away has no free slot and answers nothing
    (None), so each process goes on with what it knows: it never breaks a narration."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool:
        try:
            return await self._engine.acquire_slot(pool, holder, limit, ttl)
        except EngineUnavailable:
            return False

    async def release_slot(self, pool: str, holder: str) -> None:
        with contextlib.suppress(EngineUnavailable):  # it frees itself at expiry
            await self._engine.release_slot(pool, holder)

    async def slots_taken(self, pool: str) -> int | None:
        try:
            return await self._engine.slots_taken(pool)
        except EngineUnavailable:
            return None

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool | None:
        try:
            return await self._engine.acquire_lease(name, holder, ttl)
        except EngineUnavailable:
            return None

    async def release_lease(self, name: str, holder: str) -> None:
        with contextlib.suppress(EngineUnavailable):  # it lapses by itself
            await self._engine.release_lease(name, holder)


@dataclass
class NarratorSetup:
    """The narrator this process runs and (with a model) its endpoints and model narrator."""

    narrator: Narrator
    endpoints: Endpoints | None = None
    model: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    model_narrator: ModelNarrator | None = None
    """The model's narrator inside the checks, which the table inspector asks how many wait."""

    @classmethod
    def build(
        cls, settings: Settings, engine: Engine, holder: str, metrics: Metrics
    ) -> NarratorSetup:
        """Call inside the running loop (the app's lifespan): it opens the HTTP client."""
        fallback = FallbackNarrator(settings.fallback_tps, step=settings.coalesce_ms / 1000)
        if not settings.llm_url:
            return cls(fallback)
        budgets = Budgets(
            connect=settings.llm_connect_seconds,
            first_token=settings.llm_first_token_seconds,
            stall=settings.llm_stall_seconds,
            total=settings.llm_total_seconds,
        )
        planned = settings.llm_slots * len(endpoint_bases(settings.llm_url)) + SPARE_CONNECTIONS
        if settings.guard_url:
            planned += settings.llm_slots  # a guard request per narration at most
        client = HTTPClient(max_connections=planned)  # a stream holds a connection
        shared = EngineShared(engine)
        endpoints = Endpoints.from_urls(
            client,
            settings.llm_url,
            settings.llm_breaker_failures,
            settings.llm_breaker_seconds,
            metrics,
            SharedBreakers(shared, holder),
        )
        config = ModelConfig(
            sampling=Sampling(
                settings.llm_model,
                settings.llm_max_tokens,
                settings.llm_temperature,
                settings.llm_top_p,
                settings.llm_stream_interval,
            ),
            budgets=budgets,
            slots=settings.llm_slots,
            queue_seconds=settings.llm_queue_seconds,
            api_key=settings.llm_api_key,
            priority=settings.llm_priority,
            shorten=parse_steps(settings.llm_shorten),
        )
        model = ModelNarrator(client, endpoints, shared, fallback, config, metrics, holder)
        narrator = CheckedNarrator(model, fallback, checks(settings, client), metrics)
        return cls(narrator, endpoints, settings.llm_model, model.headers, model)

    async def survey(self) -> None:
        """Say at start-up what each model server answers, so a wrong URL or model name is
        found before the first narration falls back."""
        if self.endpoints is not None:
            for level, line in await self.endpoints.survey(self.model, self.headers):
                log.log(level, "%s", line)

    async def close(self) -> None:
        if self.endpoints is not None:
            await self.endpoints.close()
            await self.endpoints.client.aclose()


def word_files(settings: Settings) -> list[Path]:
    """The operator's word lists (`MARATANG_WORDS_FILES`)."""
    return [Path(f.strip()) for f in settings.words_files.split(",") if f.strip()]


def checks(settings: Settings, client: HTTPClient) -> Checks:
    """The checks on the model's text: the word lists, and the guard model when one is set."""
    guard = None
    if settings.guard_url:
        guard = ModelGuard(
            client,
            settings.guard_url,
            settings.guard_model,
            settings.guard_seconds,
            settings.llm_api_key,
        )
    return Checks(Lexicon.load(word_files(settings)), guard, settings.guard_fails_closed)
