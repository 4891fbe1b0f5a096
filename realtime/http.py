"""The HTTP API: guest sign-in, the catalog, health, the metrics, and the JSON shape of its
errors."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import cache
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from game.catalog import CATEGORY_NAMES, INGREDIENTS, SPICES, TAG_HINTS
from protocol.types import BOWL_SIZE, MAX_PLAYERS, NAME_LENGTH, ROUNDS, SECONDS
from realtime.auth import BadName, new_guest
from realtime.runtime import Runtime

MAX_BODY = 4096


HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}
"""The `error.code` of the refusals Starlette makes on its own."""


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return JSONResponse({"error": error}, status_code=status, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, wrong method): JSON under `/api/`, as every
    other API error is; plain text elsewhere."""
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/"):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    code = HTTP_CODES.get(exc.status_code, "invalid")
    return error_response(exc.status_code, code, exc.detail, headers=exc.headers)


HANG_UP = {"Connection": "close"}
"""On a body refused unread: the connection ends, so the rest of the body is not taken."""


def client_address(connection: HTTPConnection) -> str | None:
    """The client's address (the one nginx forwarded, when it is a trusted proxy)."""
    return connection.client.host if connection.client else None


async def bounded_body(request: Request, limit: int, timeout: float) -> bytes | Response:
    """The request's body, read in chunks and never past `limit` bytes; or the error answer:
    413 when it is larger (said by `Content-Length` or found while reading), 408 when it
    does not arrive within `timeout` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()):
        return error_response(400, "invalid", "Content-Length must be a number", headers=HANG_UP)
    too_large = f"the body is over {limit} bytes"
    if declared is not None and (len(declared) > 9 or int(declared) > limit):
        return error_response(413, "too_large", too_large, headers=HANG_UP)
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    return error_response(413, "too_large", too_large, headers=HANG_UP)
    except TimeoutError:
        late = f"the body did not arrive within {timeout:g} s"
        return error_response(408, "timeout", late, headers=HANG_UP)
    return bytes(body)


async def guest(request: Request) -> Response:
    """`POST /api/auth/guest {name}` → `{token, player: {id, name}}`."""
    runtime: Runtime = request.app.state.runtime
    addresses = runtime.admission.addresses
    if not addresses.sign_in(addresses.key(client_address(request))):
        return error_response(
            429,
            "rate_limited",
            "too many sign-ins from this address: try again in a minute",
            headers={"Retry-After": "60"},
        )
    body = await bounded_body(request, MAX_BODY, runtime.settings.header_timeout)
    if isinstance(body, Response):
        return body
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return error_response(400, "bad_frame", 'the body must be JSON: {"name": "..."}')
    if not isinstance(data, dict) or "name" not in data:
        return error_response(400, "invalid", "name is required", "name")
    try:
        player = new_guest(data["name"])
    except BadName as exc:
        return error_response(400, "invalid", str(exc), "name")
    token = runtime.signer.issue(player)
    return JSONResponse({"token": token, "player": {"id": player.id, "name": player.name}})


@cache
def catalog_body() -> dict[str, Any]:
    """The catalog as JSON data; built once, never mutated."""
    return {
        "ingredients": [
            {
                "id": i.id,
                "name": i.name,
                "name_en": i.name_en,
                "category": i.category.value,
                "tags": sorted(t.value for t in i.tags),
                "price": i.price,
            }
            for i in INGREDIENTS
        ],
        "spices": [{"level": s.level, "name": s.name, "name_en": s.name_en} for s in SPICES],
        "categories": {k.value: {"name": v[0], "name_en": v[1]} for k, v in CATEGORY_NAMES.items()},
        "tags": {k.value: {"hint": v[0], "hint_en": v[1]} for k, v in TAG_HINTS.items()},
        "limits": {
            "bowl": list(BOWL_SIZE),
            "players": MAX_PLAYERS,
            "rounds": list(ROUNDS),
            "seconds": list(SECONDS),
            "name": NAME_LENGTH,
        },
    }


async def catalog(request: Request) -> Response:
    """`GET /api/catalog`: ingredients with ids, spice levels, and the game's limits."""
    return JSONResponse(catalog_body(), headers={"Cache-Control": "public, max-age=300"})


async def healthz(request: Request) -> Response:
    """`GET /healthz`: the process answers; which engine it runs on, and whether that engine
    answers now (never where it is: no URL, no credential)."""
    runtime: Runtime = request.app.state.runtime
    up = await runtime.engine_answers()
    return JSONResponse(
        {
            "status": "ok" if up else "degraded",
            "engine": runtime.engine_kind,
            "engine_state": "up" if up else "unreachable",
        }
    )


async def metrics(request: Request) -> Response:
    """`GET /metrics`: the Prometheus metrics of every worker of this server, for the internal
    network (nginx never passes it on)."""
    runtime: Runtime = request.app.state.runtime
    tables = await runtime.census.tables()
    return Response(runtime.metrics.exposition(tables), media_type=CONTENT_TYPE_LATEST)
