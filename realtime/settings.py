"""Settings: from the environment (`MARATANG_*`), overridden by command-line flags.

Every setting is listed, with its meaning, in `deploy/.env.example` and `docs/operations.md`.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from starlette.config import Config

SECRET_LENGTH = 32
"""Non-whitespace characters a production secret needs at least."""
WEBGL_DIR = Path(__file__).resolve().parent.parent / "webgl"

log = logging.getLogger("maratang")


@dataclass(frozen=True, slots=True)
class Settings:
    env: str = "development"
    """`production` refuses to start with a missing or default secret."""
    host: str = "127.0.0.1"
    port: int = 8000
    secret: str = ""
    """Signs the players' tokens; every process of a deployment needs the same. Empty in
    development: `serve` makes a random one per run (tokens do not outlive it)."""
    token_ttl: float = 24 * 3600.0
    """Seconds a guest token stays valid."""
    engine: str = "memory"
    """`memory` (one process) or a Redis URL such as `redis://127.0.0.1:6379/0`."""
    redis_prefix: str = "maratang:"
    """Namespace of every Redis key this deployment uses."""
    redis_replicas: int = 0
    """Replicas that must hold a commit or a narration piece before players see it (Redis
    `WAIT`): with 1 and a replica per master, a failover loses nothing a player saw."""
    redis_replica_wait_ms: int = 100
    """How long a write waits for those replicas; past it the write stands without them (and
    `maratang_engine_unreplicated_total` counts it)."""
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
    llm_priority: bool = False
    """Send vLLM each narration's `priority` (tastings first, then entrances, then finales).
    Only for a vLLM run with `--scheduling-policy priority`: vLLM documents a non-zero
    priority as an error otherwise."""
    llm_shorten: str = "4:0.75,8:0.5"
    """`waiting:share` steps: from that many of this process's narrations waiting for a slot,
    one admitted asks for that share of its tokens and sentences (empty: never shorter)."""
    llm_connect_seconds: float = 2.0
    llm_first_token_seconds: float = 4.0
    """Budget from the request to the first text."""
    llm_stall_seconds: float = 3.0
    """Longest pause between two pieces of text."""
    llm_total_seconds: float = 45.0
    """Budget for a whole model narration."""
    llm_breaker_failures: int = 3
    """Failed requests in a row that stop requests to a server for a while (from every
    process sharing the engine: `llm.shared`)."""
    llm_breaker_seconds: float = 10.0
    """How long a failing server is left alone before it is probed, once for every process
    (doubling, up to 60)."""
    words_files: str = ""
    """Word lists added to the built-in ones the model's text is checked against
    (comma-separated files; one word a line, `!word` allows a word that holds a listed one)."""
    guard_url: str = ""
    """A guard model's server (vLLM's OpenAI-compatible API) that judges each sentence of the
    model's narration before players see it; empty: no guard (the word filter still checks)."""
    guard_model: str = "kakaocorp/kanana-safeguard-8b"
    guard_seconds: float = 1.0
    """How long the guard may take over a sentence."""
    guard_fails_closed: bool = False
    """Take a sentence the guard gave no verdict on as unsafe (default: let it through)."""
    database_url: str = ""
    """PostgreSQL for records and snapshots (`postgresql://...`); empty: nothing persisted."""
    snapshot_seconds: float = 10.0
    """How often a running table's newest state is written (also at every round's end)."""
    records_queue: int = 10_000
    """Records waiting for the database (while it is down) before new ones are dropped."""
    retention_hours: float = 72.0
    """Snapshots of tables untouched this long (finished, or abandoned: no token that could
    resume them is still valid) are pruned, with the sessions rows no game record needs."""
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
    send_queue_bytes: int = 256 * 1024
    """Bytes one socket may have waiting (events, replies, errors, pongs). Events beyond it
    are caught up from the log once the socket drains; a reply beyond it closes the socket
    (4408, resumable)."""
    send_stall_seconds: float = 10.0
    """A socket that takes no byte for this long while frames wait is closed (4408)."""
    rate_per_second: float = 20.0
    """Commands one socket may send per second on average; beyond, `rate_limited`."""
    rate_burst: int = 40
    """... and at once. A socket refused more than this many times (the count drops by one
    each second) is closed (4429)."""
    player_sockets: int = 8
    """Sockets one player may hold open at once, across every process."""
    player_tables_per_minute: int = 10
    """Tables one player may create per minute, across every process."""
    player_join_failures_per_minute: int = 10
    """`session.join`s with a code that names no table, per player per minute; one more
    closes the socket (4429)."""
    address_join_failures_per_minute: int = 60
    """The same, per client address, across every process."""
    address_connects_per_second: float = 20.0
    """New WebSockets one client address may open per second in one process..."""
    address_connects_burst: int = 60
    """... and at once; beyond either, the handshake is answered 429."""
    address_sockets: int = 500
    """Sockets one client address may have open in one process (a venue behind one address
    seats many players: raise it, or exempt the address)."""
    address_pending: int = 30
    """Sockets one client address may have open before their `hello`, in one process."""
    address_signins_per_minute: int = 60
    """Guest sign-ins one client address may make per minute, in one process."""
    limit_exempt: str = ""
    """Addresses or networks (comma-separated, `10.0.0.0/8`) the per-address limits skip:
    load-test bots, a trusted venue behind one address."""
    max_connections: int = 10_000
    """WebSockets one process holds at most (beyond, the handshake is answered 503); HTTP
    is served up to this many connections and `HTTP_HEADROOM` more (beyond, 503)."""
    header_timeout: float = 10.0
    """Seconds a connection has to send a request's headers (and a sign-in its body)."""
    history: int = 2000
    """Events kept per session for resume."""
    closed_ttl: float = 600.0
    """Seconds a closed table is kept for late resumes before it is forgotten."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose X-Forwarded-For/-Proto are trusted (comma-separated, `*` for any): set
    it to nginx's address, or `*` when only nginx can reach the app."""
    admin_token: str = ""
    """Opens the table inspector (`/admin` and `/admin/api/...`) to whoever sends it, as the
    password of HTTP Basic authentication or as a bearer token; empty: the inspector is off
    (its paths answer 404)."""
    webgl_dir: str = str(WEBGL_DIR)
    log_level: str = "info"
    log_format: str = "text"
    """`text` (readable lines) or `json` (one JSON object per line, for a log collector)."""

    @property
    def strong_secret(self) -> bool:
        return strong(self.secret)

    @property
    def weak_admin_token(self) -> bool:
        """Set (the inspector is on) but shorter than a production secret must be."""
        return bool(self.admin_token) and not strong(self.admin_token)


def strong(value: str) -> bool:
    """Long enough for production: `SECRET_LENGTH` non-whitespace characters at least."""
    return len("".join(value.split())) >= SECRET_LENGTH


def with_secret(settings: Settings) -> Settings:
    """The settings with a secret: a random one for this run when none is set (development
    only: production refuses to start without one). `serve` hands it to every worker."""
    return settings if settings.secret else replace(settings, secret=secrets.token_urlsafe(32))


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
