"""The Starlette application and its lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from realtime import http
from realtime.runtime import Runtime
from realtime.settings import Settings
from realtime.ws import websocket_endpoint

log = logging.getLogger("maratang")


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        app.state.runtime = runtime
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    routes: list[BaseRoute] = [
        Route("/api/auth/guest", http.guest, methods=["POST"]),
        Route("/api/catalog", http.catalog, methods=["GET"]),
        Route("/healthz", http.healthz, methods=["GET"]),
        WebSocketRoute("/ws", websocket_endpoint),
    ]
    webgl = Path(settings.webgl_dir)
    if webgl.is_dir():
        routes.append(Mount("/", StaticFiles(directory=webgl, html=True), name="webgl"))
    else:
        log.warning("no browser client at %s: / serves nothing", webgl)
    return Starlette(routes=routes, lifespan=lifespan)
