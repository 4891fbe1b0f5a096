"""Settings: from the environment (`MARATANG_*`), overridden by command-line flags.

Every setting is listed, with its meaning, in `deploy/.env.example` and `docs/operations.md`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from starlette.config import Config

DEV_SECRET = "maratang-dev-secret-change-me"
WEBGL_DIR = Path(__file__).resolve().parent.parent / "webgl"

log = logging.getLogger("maratang")


@dataclass(frozen=True, slots=True)
class Settings:
    env: str = "development"
    """`production` refuses to start with a missing or default secret."""
    host: str = "127.0.0.1"
    port: int = 8000
    secret: str = DEV_SECRET
    token_ttl: float = 24 * 3600.0
    """Seconds a guest token stays valid."""
    engine: str = "memory"
    """`memory` (one process) or a Redis URL such as `redis://127.0.0.1:6379/0`."""
    redis_prefix: str = "maratang:"
    """Namespace of every Redis key this deployment uses."""
    workers: int = 1
    """Hub processes on this machine (more than one needs the Redis engine)."""
    presence_ttl: float = 15.0
    """A connection's presence mark lapses this long after its process stops refreshing it;
    its player is then away (the grace period starts)."""
    narration_lease: float = 3.0
    """A narration whose process stops renewing its lease this long is taken over."""
    llm_url: str = ""
    """Model servers (vLLM's OpenAI-compatible API), comma-separated; empty: fallback only."""
    llm_model: str = "kakaocorp/kanana-1.5-8b-instruct-2505"
    """The model name the servers serve (vLLM's `--served-model-name`, or its `--model`)."""
    llm_api_key: str = ""
    """Sent as a bearer token when set (vLLM's `--api-key`)."""
    llm_max_tokens: int = 350
    """Ceiling on the tokens of one narration (each kind asks for less)."""
    llm_temperature: float = 0.7
    llm_top_p: float = 0.9
    llm_stream_interval: int = 1
    """Tokens per streamed chunk asked of vLLM (its per-request `stream_interval`): 2-4 cut
    the hub's reading work by as much, at the cost of that many tokens' delay."""
    llm_slots: int = 96
    """Narrations one model server takes at once, across every hub process (size it to the
    server's KV cache: ~120 on a 48 GB card, ~20 on a 24 GB one)."""
    llm_queue_seconds: float = 1.5
    """How long a narration waits for a free slot before the fallback tells it."""
    llm_connect_seconds: float = 2.0
    llm_first_token_seconds: float = 4.0
    """Budget from the request to the first text."""
    llm_stall_seconds: float = 3.0
    """Longest pause between two pieces of text."""
    llm_total_seconds: float = 45.0
    """Budget for a whole model narration."""
    llm_breaker_failures: int = 3
    """Failed requests in a row that stop requests to a server for a while."""
    llm_breaker_seconds: float = 10.0
    """How long a failing server is left alone before it is probed (doubling, up to 60)."""
    database_url: str = ""
    """PostgreSQL for records and snapshots (`postgresql://...`); empty: nothing persisted."""
    snapshot_seconds: float = 10.0
    """How often a running table's newest state is written (also at every round's end)."""
    records_queue: int = 10_000
    """Records waiting for the database (while it is down) before new ones are dropped."""
    fallback_tps: float = 30.0
    """Fallback narrator pace, tokens per second."""
    coalesce_ms: int = 40
    """Narration text is gathered into one `narration.delta` per this many milliseconds."""
    grace_seconds: float = 60.0
    """How long an away player keeps the seat."""
    hello_timeout: float = 10.0
    ping_interval: float = 20.0
    """Seconds between WebSocket pings from the server (also `welcome.heartbeat_ms`)."""
    ping_timeout: float = 20.0
    max_frame_bytes: int = 64 * 1024
    send_queue: int = 256
    """Frames one socket may have waiting before it is caught up from the log instead."""
    send_timeout: float = 15.0
    """A socket that takes longer to accept one frame is closed (resumable)."""
    rate_per_second: float = 20.0
    rate_burst: int = 40
    history: int = 2000
    """Events kept per session for resume."""
    closed_ttl: float = 600.0
    """Seconds a closed table is kept for late resumes before it is forgotten."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose X-Forwarded-For/-Proto are trusted (comma-separated, `*` for any): set
    it to nginx's address, or `*` when only nginx can reach the app."""
    webgl_dir: str = str(WEBGL_DIR)
    log_level: str = "info"

    @property
    def dev_secret(self) -> bool:
        return self.secret == DEV_SECRET


def from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `MARATANG_<NAME>` variables, defaults for the rest."""
    source = os.environ if environ is None else environ
    config = Config(environ=dict(source), env_prefix="MARATANG_")
    values: dict[str, Any] = {}
    for field in fields(Settings):
        kind = type(field.default)
        values[field.name] = config(field.name.upper(), cast=kind, default=field.default)
    return Settings(**values)


def environment(settings: Settings) -> dict[str, str]:
    """The settings as `MARATANG_*` variables: what a worker process reads back."""
    return {f"MARATANG_{f.name.upper()}": str(getattr(settings, f.name)) for f in fields(settings)}


def with_overrides(settings: Settings, **overrides: Any) -> Settings:
    """Settings with the given values replaced, skipping those that are None (flags not given)."""
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
