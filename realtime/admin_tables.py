"""What the table inspector reads of the live tables and of this process, as JSON data.

The tables themselves (phase, seats, the narration in flight, the narration slots) come from
the engine and are the same whichever process answers. A process knows only its own sockets,
narration requests and record writes: those figures sit under `this_process`, and with many
workers they are the answering worker's alone.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from game.state import Seat, Table, Told
from game.view import table_view
from llm.narrator import overall_source
from protocol.types import NarrationSource, PlayerId, SessionId
from protocol.wire import to_wire
from realtime.connection import Connection
from realtime.runtime import Runtime
from storage.engine import Snapshot, lane

SPECTATOR = PlayerId("")
"""Nobody seated: the table as someone who sees every seat but no one's own bowl."""


def table_summary(runtime: Runtime, snapshot: Snapshot) -> dict[str, Any]:
    """A live table in one entry of the tables list."""
    table = snapshot.table
    settings = table.settings
    return {
        "session": table.session,
        "code": table.code,
        "phase": table.phase,
        "round": table.round,
        "rounds": settings.rounds,
        "seconds": settings.seconds,
        "lang": settings.lang,
        "host": table.host,
        "deadline": table.deadline,
        "version": snapshot.version,
        "seq": snapshot.seq,
        "seats": [seat_entry(seat) for seat in table.seats],
        "narration": narration_entry(table, snapshot.told),
        "pending_narration": table.pending,
        "this_process": sockets_here(runtime, table.session),
    }


def table_detail(runtime: Runtime, snapshot: Snapshot) -> dict[str, Any]:
    """One live table: its summary, its players in detail, the text of the narration in
    flight, and the table as a spectator's `sync` would show it (protocol JSON)."""
    table, told = snapshot.table, lane(snapshot.table, snapshot.told)
    detail = table_summary(runtime, snapshot)
    detail["narration"] = narration_entry(table, told, with_text=True)
    here = runtime.hub.following(table.session)
    detail["players"] = [player_entry(table, seat, here) for seat in table.seats]
    detail["state"] = to_wire(table_view(table, SPECTATOR, told=told))
    return detail


def seat_entry(seat: Seat) -> dict[str, Any]:
    return {
        "player": seat.player,
        "name": seat.name,
        "presence": "away" if seat.away else "connected",
        "total": seat.total,
    }


def player_entry(table: Table, seat: Seat, here: list[Connection]) -> dict[str, Any]:
    return {
        **seat_entry(seat),
        "host": seat.player == table.host,
        "submitted": seat.player in table.bowls,
        "sockets_here": [socket_entry(c) for c in here if c.player.id == seat.player],
    }


def socket_entry(conn: Connection) -> dict[str, Any]:
    return {
        "codec": conn.codec.subprotocol,
        "queued_bytes": conn.queued_bytes,
        "pushing_back": conn.writing and not conn.catching_up,
        "catching_up": conn.catching_up,
    }


def narration_entry(
    table: Table, told: Told | None, with_text: bool = False
) -> dict[str, Any] | None:
    """The table's narration: the one in flight (what the lane holds of it so far), or the
    last one told. The lane counts characters: tokens are the model server's to count."""
    narration = table.narration
    if narration is None:
        return None
    told = lane(table, told)
    text = told.text if told is not None else narration.text
    entry: dict[str, Any] = {
        "nid": narration.nid,
        "kind": narration.kind,
        "round": narration.round,
        "streaming": narration.streaming,
        "source": narration.source if told is None else so_far(told),
        "sources": list(told.by) if told is not None else [narration.source],
        "characters": len(text),
    }
    if with_text:
        entry["text"] = text
    return entry


def so_far(told: Told) -> NarrationSource | None:
    """Who told a streaming narration so far (None before its first piece)."""
    return overall_source(told.by) if told.by else None


def sockets_here(runtime: Runtime, session: SessionId) -> dict[str, Any]:
    """What this process holds of a table: its sockets, the bytes queued for them, and
    whether it relays the table's narration."""
    here = runtime.hub.following(session)
    return {
        "sockets": len(here),
        "queued_bytes": sum(conn.queued_bytes for conn in here),
        "relaying": runtime.service.relay.telling(session),
    }


async def narration_queues(runtime: Runtime) -> dict[str, Any]:
    """The model servers' narration slots (shared by every process) and this process's
    model requests."""
    setup, limit = runtime.narration, runtime.settings.llm_slots
    endpoints = setup.endpoints.all if setup.endpoints is not None else ()
    model = setup.model_narrator
    taken = await asyncio.gather(*(runtime.engine.slots_taken(e.pool) for e in endpoints))
    return {
        "model": setup.model or None,
        "slots": [
            {
                "endpoint": endpoint.shown,
                "taken": count,
                "limit": limit,
                "breaker": endpoint.breaker.state.value,
            }
            for endpoint, count in zip(endpoints, taken, strict=True)
        ],
        "this_process": {
            "in_flight": sum(endpoint.outstanding for endpoint in endpoints),
            "waiting_for_slot": model.asking if model is not None else 0,
        },
    }


def records_queue(runtime: Runtime) -> dict[str, Any]:
    """This process's record writes waiting for the database."""
    records = runtime.records
    return {"kept": records.kept, "this_process": {"pending": records.pending}}


def process_entry(runtime: Runtime) -> dict[str, Any]:
    """The answering process: with many workers, each `this_process` figure is its own."""
    return {
        "pid": os.getpid(),
        "workers": runtime.settings.workers,
        "sockets": len(runtime.connections),
    }
