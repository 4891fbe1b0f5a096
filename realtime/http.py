"""The HTTP API: guest sign-in, the catalog, health."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from game.catalog import CATEGORY_NAMES, INGREDIENTS, SPICES, TAG_HINTS
from protocol.types import BOWL_SIZE, MAX_PLAYERS, NAME_LENGTH, ROUNDS, SECONDS
from realtime.auth import BadName, new_guest
from realtime.runtime import Runtime

MAX_BODY = 4096


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return JSONResponse({"error": error}, status_code=status)


async def guest(request: Request) -> Response:
    """`POST /api/auth/guest {name}` → `{token, player: {id, name}}`."""
    runtime: Runtime = request.app.state.runtime
    body = await request.body()
    if len(body) > MAX_BODY:
        return error_response(413, "too_large", f"the body is over {MAX_BODY} bytes")
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
    runtime: Runtime = request.app.state.runtime
    return JSONResponse({"status": "ok", "engine": runtime.settings.engine})
