"""`maratang`: the command line.

    maratang serve [--host H] [--port P] [--fallback-tps N] [--grace-seconds S]
                   [--engine memory|redis://HOST:PORT/DB|redis+cluster://HOST:PORT,...]
                   [--workers N] [--llm-url URL[,URL]]
                   [--llm-priority] [--llm-shorten WAITING:SHARE,...]
                   [--database-url postgresql://...] [--log-format text|json]
    maratang migrate [--database-url postgresql://...] [--log-format text|json]
    maratang llm-sim [--host H] [--port P] [--model NAME] [--ttft S] [--tps N] [--fault MODE] ...
    maratang bots --url URL [--tables N] [--players K] [--rounds R] [--profile MIX] ...

Flags override `MARATANG_*` environment settings, which override the defaults. Without any,
`serve` runs on the embedded defaults: the memory engine, the fallback narrator, no database.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvicorn

from bots.cli import add_parser as add_bots_parser
from bots.cli import run_bots
from llm.endpoints import endpoint_bases
from llm.lexicon import Lexicon
from llm.shorten import parse_steps
from realtime.limits import AddressRules
from realtime.logs import FORMATS, log_config, redact, say, settings_secrets, url_secrets
from realtime.multiprocess import multiprocess_directory
from realtime.narrator_setup import word_files
from realtime.runtime import REDIS_SCHEMES
from realtime.settings import (
    SECRET_LENGTH,
    Settings,
    environment,
    from_environment,
    with_overrides,
    with_secret,
)
from realtime.sim_cli import add_sim_parser, run_sim
from storage.migrate import check_url, upgrade_head
from storage.redis_keys import CLUSTER_SCHEMES, ClusterURL, Keys

MIN_SEND_QUEUE = 1024
"""Bytes below which a socket's queue cannot hold a `welcome`."""
HTTP_HEADROOM = 256
"""Connections uvicorn serves HTTP on beyond `MARATANG_MAX_CONNECTIONS` (it counts open
WebSockets too): a process full of sockets still answers `/healthz` and sign-ins."""
SHUTDOWN_SECONDS = 5
"""How long a stopping server waits for its sockets' handlers before cancelling them."""


POSITIVE = (
    "send_queue_bytes",
    "send_stall_seconds",
    "rate_per_second",
    "rate_burst",
    "player_sockets",
    "player_tables_per_minute",
    "player_join_failures_per_minute",
    "address_join_failures_per_minute",
    "address_connects_per_second",
    "address_connects_burst",
    "address_sockets",
    "address_pending",
    "address_signins_per_minute",
    "max_connections",
    "header_timeout",
    "retention_hours",
    "guard_seconds",
)
"""Settings that only make sense above 0."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="maratang", description=__doc__.split("\n")[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the game server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000; 0 picks one)")
    serve.add_argument(
        "--fallback-tps",
        type=_positive,
        metavar="N",
        help="fallback narrator pace in tokens per second (default 30)",
    )
    serve.add_argument(
        "--grace-seconds",
        type=_positive,
        metavar="S",
        help="how long an away player keeps the seat (default 60)",
    )
    serve.add_argument(
        "--engine",
        metavar="URL",
        help=(
            "memory (default: one process), a Redis URL such as redis://127.0.0.1:6379/0, or a"
            " Redis Cluster's nodes: redis+cluster://10.0.0.1:6379,10.0.0.2:6379"
        ),
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="hub processes (default 1; more need --engine redis)",
    )
    serve.add_argument(
        "--llm-url",
        metavar="URL",
        help="vLLM (OpenAI-compatible) servers, comma-separated (default: the fallback narrator)",
    )
    serve.add_argument(
        "--llm-priority",
        action=argparse.BooleanOptionalAction,
        help="send vLLM each narration's priority (only for vLLM run with "
        "--scheduling-policy priority; default: off)",
    )
    serve.add_argument(
        "--llm-shorten",
        metavar="STEPS",
        help="waiting:share steps asking for shorter narrations as the queue for a model slot "
        "grows (default 4:0.75,8:0.5; empty: never)",
    )
    serve.add_argument(
        "--database-url",
        metavar="URL",
        help="PostgreSQL for game records and snapshots (default: nothing is persisted)",
    )
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    migrate = commands.add_parser(
        "migrate", help="bring the records database to the newest schema (alembic upgrade head)"
    )
    migrate.add_argument("--database-url", metavar="URL", help="default: MARATANG_DATABASE_URL")
    for command in (serve, migrate):
        command.add_argument(
            "--log-format",
            choices=FORMATS,
            help="text (default: readable lines) or json (one JSON object per line)",
        )
    add_sim_parser(commands)
    add_bots_parser(commands)
    return top


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be above 0")
    return value


def check(settings: Settings) -> None:
    """Refuse settings that cannot work together, saying why."""
    if settings.workers < 1:
        raise ValueError("--workers must be at least 1")
    if settings.workers > 1 and settings.engine == "memory":
        raise ValueError(
            "the memory engine lives inside one process; "
            "--workers above 1 needs --engine redis://HOST:PORT/DB"
        )
    if settings.engine != "memory" and not settings.engine.startswith(REDIS_SCHEMES):
        raise ValueError("--engine: use memory, a redis:// URL or a redis+cluster:// URL")
    if settings.engine.startswith(CLUSTER_SCHEMES):
        ClusterURL.parse(settings.engine)  # raises for a node without host or port
    Keys(settings.redis_prefix)  # raises for a prefix that would break the hash tags
    endpoint_bases(settings.llm_url)  # raises for a URL that is not http(s)
    if settings.database_url:
        check_url(settings.database_url)
    if settings.log_format not in FORMATS:
        raise ValueError(f"MARATANG_LOG_FORMAT {settings.log_format!r}: use text or json")
    if settings.env not in ("development", "production"):
        raise ValueError(f"MARATANG_ENV {settings.env!r}: use development or production")
    if settings.env == "production" and not settings.strong_secret:
        raise ValueError(
            f"MARATANG_SECRET is missing or too short: production needs a random value of at "
            f"least {SECRET_LENGTH} non-whitespace characters (openssl rand -hex 32)"
        )
    if settings.env == "production" and settings.weak_admin_token:
        raise ValueError(
            f"MARATANG_ADMIN_TOKEN is too short: production needs a random value of at least "
            f"{SECRET_LENGTH} non-whitespace characters (openssl rand -hex 32), or none (the "
            f"table inspector is then off)"
        )
    if settings.llm_slots < 1:
        raise ValueError("MARATANG_LLM_SLOTS must be at least 1")
    try:
        parse_steps(settings.llm_shorten)
    except ValueError as exc:
        raise ValueError(f"MARATANG_LLM_SHORTEN {settings.llm_shorten!r}: {exc}") from None
    try:
        Lexicon.load(word_files(settings))
    except ValueError as exc:
        raise ValueError(f"MARATANG_WORDS_FILES: {exc}") from None
    if settings.guard_url and not settings.guard_url.startswith(("http://", "https://")):
        raise ValueError("MARATANG_GUARD_URL must start with http:// or https://")
    for name in POSITIVE:
        if getattr(settings, name) <= 0:
            raise ValueError(f"MARATANG_{name.upper()} must be above 0")
    if settings.send_queue_bytes < MIN_SEND_QUEUE:
        raise ValueError(f"MARATANG_SEND_QUEUE_BYTES must be at least {MIN_SEND_QUEUE}")
    AddressRules.parse_exempt(settings.limit_exempt)


def describe(settings: Settings) -> list[str]:
    """What this server is about to run on, in words an operator can act on."""
    if settings.engine == "memory":
        engine = "engine: memory (one process; live tables are lost when it stops)"
    else:
        kind = "redis cluster" if settings.engine.startswith(CLUSTER_SCHEMES) else "redis"
        engine = (
            f"engine: {kind} at {redact(settings.engine)} (keys under {settings.redis_prefix!r})"
        )
    lines = [
        engine,
        f"workers: {settings.workers}",
        narrator_line(settings),
        f"records: PostgreSQL at {redact(settings.database_url)}"
        if settings.database_url
        else "records: not persisted (no database configured)",
    ]
    if settings.admin_token:
        lines.append("inspector: /admin, for requests bearing MARATANG_ADMIN_TOKEN")
    if settings.database_url and settings.retention_hours * 3600 < settings.token_ttl:
        lines.append(
            "retention: MARATANG_RETENTION_HOURS is below the token lifetime: a table idle "
            "that long loses its snapshot while its players could still resume it"
        )
    if not settings.secret:
        lines.append(
            "secret: a random one for this run: tokens do not outlive it "
            "(set MARATANG_SECRET to keep them, as production must)"
        )
    return lines


def narrator_line(settings: Settings) -> str:
    fallback = f"fallback templates at {settings.fallback_tps:g} tokens/s"
    if not settings.llm_url:
        return f"narrator: {fallback} (no LLM configured)"
    urls = ", ".join(redact(url) for url in endpoint_bases(settings.llm_url))
    priority = ", vLLM priority on" if settings.llm_priority else ""
    return (
        f"narrator: {settings.llm_model} at {urls} (up to {settings.llm_slots} narrations "
        f"each{priority}), then {fallback}"
    )


def serve(settings: Settings) -> None:
    embedded = settings.engine == "memory" and not (settings.llm_url or settings.database_url)
    secured = with_secret(settings)
    secrets = settings_secrets(secured)
    say(f"Maratang starting{' on the embedded defaults' if embedded else ''}:", settings.log_format)
    for line in describe(settings):
        say(f"  {line}", settings.log_format, secrets=secrets)
    # Every worker builds the same settings, the secret made for this run included.
    os.environ.update(environment(secured))
    with multiprocess_directory(settings.workers) as shared:
        if shared is not None:
            say(f"  metrics: summed over the workers through {shared}", settings.log_format)
        run_uvicorn(settings, secrets)


def run_uvicorn(settings: Settings, secrets: list[str]) -> None:
    uvicorn.run(
        "realtime.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        ws="websockets-sansio",
        ws_max_size=settings.max_frame_bytes,
        ws_ping_interval=settings.ping_interval,
        ws_ping_timeout=settings.ping_timeout,
        ws_per_message_deflate=False,
        http="realtime.server_protocol:HttpProtocol",
        limit_concurrency=settings.max_connections + HTTP_HEADROOM,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level, settings.log_format, secrets),
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        lifespan="on",
    )


def migrate(url: str, log_format: str = "text") -> int:
    """`maratang migrate`: the schema to head, saying where it stands (in `log_format`).
    Exit codes: 0 done, 2 a bad or missing URL, 1 the database could not be migrated
    (whatever the reason: it is said in one line, never as a traceback)."""

    def tell(line: str, error: bool = False) -> None:
        say(line, log_format, logger="maratang.migrate", error=error, secrets=url_secrets(url))

    if not url:
        tell("maratang migrate: no database: give --database-url or MARATANG_DATABASE_URL", True)
        return 2
    try:
        check_url(url)
    except ValueError as exc:
        tell(f"maratang migrate: bad setting: {exc}", error=True)
        return 2
    tell(f"migrating {redact(url)} to the newest schema")
    try:
        upgrade_head(url)
    except Exception as exc:  # an operator reads one line, and the exit code says the rest
        reason = one_line(exc)  # an error may repeat the URL: `tell` hides its secrets
        tell(f"maratang migrate: the database could not be migrated: {reason}", error=True)
        return 1
    tell("the schema is at head")
    return 0


def one_line(exc: BaseException) -> str:
    """An exception as one line: its first line, named by type when it says nothing."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "llm-sim":
        return run_sim(args)
    if args.command == "bots":
        return run_bots(args)
    if args.command == "migrate":
        environ = from_environment()
        url, log_format = args.database_url or environ.database_url, args.log_format
        return migrate(url, log_format or environ.log_format)
    try:
        settings = with_overrides(
            from_environment(),
            host=args.host,
            port=args.port,
            fallback_tps=args.fallback_tps,
            grace_seconds=args.grace_seconds,
            engine=args.engine,
            workers=args.workers,
            llm_url=args.llm_url,
            llm_priority=args.llm_priority,
            llm_shorten=args.llm_shorten,
            database_url=args.database_url,
            log_level=args.log_level,
            log_format=args.log_format,
        )
        check(settings)
    except ValueError as exc:
        print(f"maratang: bad setting: {exc}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
