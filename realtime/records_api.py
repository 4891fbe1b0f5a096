"""The records API: finished games and a player's recent games, read from the database.

    GET /api/games/{id}                          a finished game's record
    GET /api/players/{id}/games[?limit=&before=] a player's games, newest first

Errors are JSON (`{"error": {"code", "message", "field"?}}`): 400 for a malformed id or a
bad page bound, 404 for a game that is not recorded (or a path that names no API), 503 when
the server keeps no records or its database is unreachable.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from realtime.auth import PLAYER_ID
from realtime.http import error_response
from realtime.runtime import Runtime
from storage.engine import EngineUnavailable

GAME_ID = re.compile(r"g_[A-Za-z0-9_-]{1,64}")
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
MAX_BEFORE = 2**53


async def game(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    wanted = request.path_params["game"]
    if not GAME_ID.fullmatch(wanted):
        return error_response(400, "invalid", "a game id looks like g_XXXXXXXXXXXX", "id")
    if not runtime.records.kept:
        return not_kept()
    try:
        record = await runtime.records.game(wanted)
    except EngineUnavailable:
        return unreachable()
    if record is None:
        return error_response(404, "not_found", f"no finished game {wanted} is recorded")
    return JSONResponse(record)


async def player_games(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    player = request.path_params["player"]
    if not PLAYER_ID.fullmatch(player):
        return error_response(400, "invalid", "a player id looks like p_XXXXXXXXXXXX", "id")
    limit = bounded(request.query_params.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    if limit is None:
        return error_response(400, "invalid", f"limit must be 1 to {MAX_LIMIT}", "limit")
    before = bounded(request.query_params.get("before"), None, 1, MAX_BEFORE)
    if before is None and "before" in request.query_params:
        return error_response(
            400, "invalid", "before must be a time in ms since the epoch (from `next`)", "before"
        )
    if not runtime.records.kept:
        return not_kept()
    try:
        page = await runtime.records.player_games(player, limit, before)
    except EngineUnavailable:
        return unreachable()
    return JSONResponse({"player": player, "games": page.games, "next": page.next})


def bounded(text: str | None, default: int | None, low: int, high: int) -> int | None:
    """`text` as an int within low..high; `default` when absent; None when invalid (only
    ASCII digits count, and no more of them than `high` has)."""
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None


def not_kept() -> Response:
    return error_response(
        503, "unavailable", "this server keeps no records: it runs without a database"
    )


def unreachable() -> Response:
    response = error_response(503, "unavailable", "the records database is unreachable")
    response.headers["Retry-After"] = "5"
    return response
