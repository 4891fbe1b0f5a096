"""`maratang`: the command line.

    maratang serve [--host H] [--port P] [--fallback-tps N]

Flags override `MARATANG_*` environment settings, which override the defaults. Without any,
`serve` runs on the embedded defaults: the memory engine, the fallback narrator, no database.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette

from realtime.app import create_app
from realtime.runtime import Runtime
from realtime.settings import Settings, from_environment, with_overrides

BYE_RETRY_MS = 1000
"""How long clients are asked to wait before reconnecting after a shutdown."""


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
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    return top


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be above 0")
    return value


def describe(settings: Settings) -> list[str]:
    """What this server is about to run on, in words an operator can act on."""
    lines = [
        "engine: memory (one process; live tables are lost when it stops)",
        f"narrator: fallback templates at {settings.fallback_tps:g} tokens/s (no LLM configured)",
        "records: not persisted (no database configured)",
    ]
    if settings.dev_secret:
        lines.append("secret: development default (set MARATANG_SECRET in production)")
    return lines


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    print("Maratang starting on the embedded defaults:", flush=True)
    for line in describe(settings):
        print(f"  {line}", flush=True)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_max_size=settings.max_frame_bytes,
        ws_ping_interval=settings.ping_interval,
        ws_ping_timeout=settings.ping_timeout,
        ws_per_message_deflate=False,
        log_level=settings.log_level,
        lifespan="on",
    )
    HubServer(config, app).run()


class HubServer(uvicorn.Server):
    """uvicorn's server, saying `bye` to every socket before it closes them (1012)."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        runtime: Runtime | None = getattr(self._app.state, "runtime", None)
        if runtime is not None:
            await runtime.farewell(retry_ms=BYE_RETRY_MS, timeout=1.0)
        await super().shutdown(sockets)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = with_overrides(
            from_environment(),
            host=args.host,
            port=args.port,
            fallback_tps=args.fallback_tps,
            grace_seconds=args.grace_seconds,
            log_level=args.log_level,
        )
    except ValueError as exc:
        print(f"maratang: bad setting: {exc}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
