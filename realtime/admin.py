"""The table inspector: a read-only page for operators (`/admin`) and the JSON API it reads
(`/admin/api/...`), which scripts can read too.

    GET /admin/api/tables[?limit=]                          live tables, and queue depths
    GET /admin/api/tables/{session}                         one live table, its players
    GET /admin/api/tables/{session}/events[?after=&limit=]  its event log, in order
    GET /admin/api/games[?limit=&before=]                   finished games, newest first
    GET /admin/api/games/{game}                             a finished game's record

Off unless `MARATANG_ADMIN_TOKEN` is set: then none of these paths exists. Every request under
`/admin`, the page and its files included, needs the token: as the password of HTTP Basic
authentication (any user name), which the browser asks for at its own prompt and then sends
with the page's requests, or as `Authorization: Bearer <token>` from a script; never in the URL
(URLs end up in logs). Errors are the API's (`{"error": {"code", "message"}}`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from importlib import resources

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol.events import Logged
from protocol.types import SessionId
from realtime import admin_tables, records_api
from realtime.census import live_tables
from realtime.http import error_response
from realtime.records_api import bounded, unreachable
from realtime.runtime import Runtime
from realtime.service import SESSION_ID
from storage.engine import EngineUnavailable

DEFAULT_TABLES = 200
MAX_TABLES = 1000
DEFAULT_EVENTS = 200
MAX_EVENTS = 1000
MAX_SEQ = 2**53
LOG_ATTEMPTS = 3
"""Reads of a log that moves on while it is read, before the reader is told to ask again."""

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""The page runs only its own script and style, talks only to this server, submits no form
and cannot be framed."""
ASSETS = {
    "": ("index.html", "text/html; charset=utf-8"),
    "inspector.js": ("inspector.js", "text/javascript; charset=utf-8"),
    "inspector.css": ("inspector.css", "text/css; charset=utf-8"),
}
"""What `/admin` and `/admin/<name>` serve (file, type), from `inspector/` beside this module."""


def routes(token: str) -> list[BaseRoute]:
    """The inspector's routes; none when `token` is empty (the inspector is off). Every path
    under `/admin`, known or not, passes the gate before it is routed."""
    if not token:
        return []
    page = page_files()
    gate = AdminGate(
        Router(
            routes=[
                Route("/admin", page, methods=["GET"]),
                Route("/admin/api/tables", tables),
                Route("/admin/api/tables/{session}", table),
                Route("/admin/api/tables/{session}/events", events),
                Route("/admin/api/games", games),
                Route("/admin/api/games/{game}", records_api.game),
                Route("/admin/{name:str}", page, methods=["GET"]),
            ]
        ),
        token,
    )
    return [Route("/admin", gate), Route("/admin/{path:path}", gate)]


def page_files() -> Callable[[Request], Awaitable[Response]]:
    """Serves the page's files (read once, from the installed package), with headers that
    keep the page to itself."""
    files = {
        name: (resources.files("realtime").joinpath("inspector", file).read_bytes(), kind)
        for name, (file, kind) in ASSETS.items()
    }

    async def serve(request: Request) -> Response:
        found = files.get(request.path_params.get("name", ""))
        if found is None:
            return Response("Not Found", 404, media_type="text/plain")
        return Response(found[0], headers=PAGE_HEADERS, media_type=found[1])

    return serve


REALM = 'Basic realm="Maratang table inspector", charset="UTF-8"'
"""The challenge of a refusal: a browser answers it with its own prompt for the token."""
REFUSAL = (
    "the table inspector needs the admin token: as the password of HTTP Basic "
    "authentication (any user name), or as Authorization: Bearer <token>"
)


class AdminGate:
    """Lets a request through only with the admin token; every answer, the refusals
    included, is marked never to be cached."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._digest = _digest(token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def uncached(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"cache-control", b"no-store")]
            await send(message)

        if scope["type"] == "http" and not self._admits(Headers(scope=scope)):
            await _refusal(scope["path"])(scope, receive, uncached)
            return
        await self._app(scope, receive, uncached)

    def _admits(self, headers: Headers) -> bool:
        given = _token_given(headers.get("authorization", ""))
        # digests of equal length, compared in constant time: neither the token nor its
        # length shows in how long a refusal takes
        return given is not None and hmac.compare_digest(_digest(given), self._digest)


def _token_given(authorization: str) -> bytes | None:
    """The bytes of the token an `Authorization` header carries: a bearer token, or the
    password of Basic credentials, whatever the user name; None from any other header."""
    scheme, _, credentials = authorization.partition(" ")
    given = credentials.strip().encode("latin-1")  # the header's bytes, as they came
    if scheme.lower() == "bearer":
        return given
    if scheme.lower() != "basic":
        return None
    try:
        user_and_password = base64.b64decode(given, validate=True)
    except ValueError:  # not base64
        return None
    _, colon, password = user_and_password.partition(b":")
    return password if colon else None


def _refusal(path: str) -> Response:
    """401 with the Basic challenge: in the API's error shape under `/admin/api/`, as plain
    text (what the browser shows when its prompt is dismissed) elsewhere."""
    challenge = {"WWW-Authenticate": REALM}
    if path.startswith("/admin/api/"):
        return error_response(401, "unauthorized", REFUSAL, headers=challenge)
    return PlainTextResponse(REFUSAL + "\n", 401, headers=challenge)


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


async def tables(request: Request) -> Response:
    """Every live table (up to `limit`), the narration slots and this process's queues."""
    runtime: Runtime = request.app.state.runtime
    limit = bounded(request.query_params.get("limit"), DEFAULT_TABLES, 1, MAX_TABLES)
    if limit is None:
        return error_response(400, "invalid", f"limit must be 1 to {MAX_TABLES}", "limit")
    try:
        found, more = await live_tables(runtime.engine, limit)
        narration = await admin_tables.narration_queues(runtime)
    except EngineUnavailable:
        return _store_unreachable()
    return JSONResponse(
        {
            "tables": [
                admin_tables.table_summary(runtime, snapshot)
                for snapshot in sorted(found, key=lambda s: s.table.session)
            ],
            "more": more,
            "narration": narration,
            "records": admin_tables.records_queue(runtime),
            "this_process": admin_tables.process_entry(runtime),
        }
    )


async def table(request: Request) -> Response:
    """One live table in detail."""
    runtime: Runtime = request.app.state.runtime
    session = _session(request)
    if isinstance(session, Response):
        return session
    try:
        snapshot = await runtime.engine.load(session)
    except EngineUnavailable:
        return _store_unreachable()
    if snapshot is None:
        return _no_table(session)
    return JSONResponse(admin_tables.table_detail(runtime, snapshot))


async def events(request: Request) -> Response:
    """A live table's logged events after `after`, in order, at most `limit` of them, as the
    protocol's JSON. When the log no longer reaches back to `after` (it keeps the newest
    `MARATANG_HISTORY` events), the page starts at its oldest event: `from` says where."""
    runtime: Runtime = request.app.state.runtime
    session = _session(request)
    if isinstance(session, Response):
        return session
    after = bounded(request.query_params.get("after"), 0, 0, MAX_SEQ)
    limit = bounded(request.query_params.get("limit"), DEFAULT_EVENTS, 1, MAX_EVENTS)
    if after is None:
        return error_response(400, "invalid", "after must be a seq (0 or more)", "after")
    if limit is None:
        return error_response(400, "invalid", f"limit must be 1 to {MAX_EVENTS}", "limit")
    try:
        found = await _log_from(runtime, session, after)
    except EngineUnavailable:
        return _store_unreachable()
    if isinstance(found, Response):
        return found
    start, logged = found
    page = [event.to_wire() for event in logged[:limit]]
    return JSONResponse(
        {
            "session": session,
            "after": after,
            "from": start,
            "events": page,
            "next": page[-1]["seq"] if page else start,
            "more": len(logged) > limit,
        }
    )


async def _log_from(
    runtime: Runtime, session: SessionId, after: int
) -> tuple[int, list[Logged]] | Response:
    """Where the log is read from (`after`, or just before its oldest kept event) and what
    it holds from there; or the error answer."""
    engine, start = runtime.engine, after
    for _ in range(LOG_ATTEMPTS):
        logged = await engine.events_after(session, start)
        if logged is not None:
            return start, list(logged)
        snapshot = await engine.load(session)
        if snapshot is None:
            return _no_table(session)
        if after > snapshot.seq:
            message = f"after {after} is past the log's last event ({snapshot.seq})"
            return error_response(400, "invalid", message, "after")
        oldest = max(after, snapshot.seq - runtime.settings.history)
        if oldest == start:  # it holds less than it keeps: the table was restored since
            message = f"the log holds nothing that far back: read on from after={snapshot.seq}"
            return error_response(410, "gone", message, "after")
        start = oldest  # trimmed: from its oldest event, unless it moves on meanwhile
    return error_response(
        409, "busy", "the log moved on while it was read: ask again", headers={"Retry-After": "1"}
    )


async def games(request: Request) -> Response:
    """Finished games from the records database, newest first; without a database, none
    (and a message saying why)."""
    runtime: Runtime = request.app.state.runtime
    limit = bounded(
        request.query_params.get("limit"), records_api.DEFAULT_LIMIT, 1, records_api.MAX_LIMIT
    )
    if limit is None:
        message = f"limit must be 1 to {records_api.MAX_LIMIT}"
        return error_response(400, "invalid", message, "limit")
    before = bounded(request.query_params.get("before"), None, 1, records_api.MAX_BEFORE)
    if before is None and "before" in request.query_params:
        return error_response(
            400, "invalid", "before must be a time in ms since the epoch (from `next`)", "before"
        )
    if not runtime.records.kept:
        message = "this server keeps no records: it runs without a database"
        return JSONResponse({"kept": False, "games": [], "next": None, "message": message})
    try:
        page = await runtime.records.games(limit, before)
    except EngineUnavailable:
        return unreachable()
    return JSONResponse({"kept": True, "games": page.games, "next": page.next})


def _session(request: Request) -> SessionId | Response:
    wanted = request.path_params["session"]
    if not SESSION_ID.fullmatch(wanted):
        return error_response(400, "invalid", "a session id looks like s_XXXXXXXXXXXX", "session")
    return SessionId(wanted)


def _no_table(session: SessionId) -> Response:
    return error_response(404, "not_found", f"no live table {session}")


def _store_unreachable() -> Response:
    response = error_response(503, "unavailable", "the live tables' store is unreachable")
    response.headers["Retry-After"] = "1"
    return response
