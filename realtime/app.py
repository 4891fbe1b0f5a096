"""The Starlette application and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import FrameType

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from realtime import http, records_api
from realtime.runtime import BYE_RETRY_MS, Runtime
from realtime.settings import Settings, from_environment
from realtime.transport import TransportAccess
from realtime.ws import websocket_endpoint

log = logging.getLogger("maratang")

Handler = Callable[[int, FrameType | None], object]


def app_from_environment() -> Starlette:
    """The app on the `MARATANG_*` settings: what each worker process runs."""
    return create_app(from_environment())


GC_THRESHOLDS = (5_000, 50, 1_000)
"""Young collections every 5,000 allocations (Python's default is 700), older ones far more
rarely: with the defaults, the full collections of a process holding a thousand sockets and
their tables paused its event loop for 50–130 ms, a latency spike for every player at once
(measured with `bench/token_fanout.py`: p99 of the narration at 100 rooms 45–53 ms with the
defaults, 34–36 ms with these, the longest pause 11–16 ms). A full collection still runs every
few minutes under load, so cyclic garbage does not pile up."""


def collect_garbage_rarely() -> None:
    """Freeze what start-up made (modules, settings, the runtime: never garbage) out of every
    collection, and collect the rest in fewer, shorter pauses (`GC_THRESHOLDS`)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        app.state.runtime = runtime
        await runtime.start()
        collect_garbage_rarely()
        farewell_first(runtime)
        try:
            yield
        finally:
            await runtime.stop()

    routes: list[BaseRoute] = [
        Route("/api/auth/guest", http.guest, methods=["POST"]),
        Route("/api/catalog", http.catalog, methods=["GET"]),
        Route("/api/games/{game}", records_api.game, methods=["GET"]),
        Route("/api/players/{player}/games", records_api.player_games, methods=["GET"]),
        Route("/healthz", http.healthz, methods=["GET"]),
        Route("/metrics", http.metrics, methods=["GET"]),
        WebSocketRoute("/ws", websocket_endpoint),
    ]
    webgl = Path(settings.webgl_dir)
    if webgl.is_dir():
        routes.append(Mount("/", StaticFiles(directory=webgl, html=True), name="webgl"))
    else:
        log.warning("no browser client at %s: / serves nothing", webgl)
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(TransportAccess)],
        exception_handlers={HTTPException: http.http_error},
    )


def farewell_first(runtime: Runtime) -> None:
    """On SIGTERM or SIGINT, say `bye` to every socket before the server's own handler runs
    (it closes the sockets with 1012 at once). The server installed its handlers before the
    lifespan started; each is wrapped, not replaced."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        async def goodbye(previous: Handler, signum: int, frame: FrameType | None) -> None:
            try:
                await runtime.farewell(retry_ms=BYE_RETRY_MS, timeout=1.0)
            finally:
                previous(signum, frame)  # whatever happened, the server must hear of it

        def handler(signum: int, frame: FrameType | None, previous: Handler = previous) -> None:
            loop.call_soon_threadsafe(
                lambda: runtime.spawn(goodbye(previous, signum, frame), "farewell")
            )

        with contextlib.suppress(ValueError):  # not the main thread: leave the server's own
            signal.signal(signum, handler)
