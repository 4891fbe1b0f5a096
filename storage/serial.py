"""Tables and events as bytes, for engines that keep them outside the process.

Both travel as MessagePack of their wire maps (`protocol.wire`), so what is stored is what the
protocol's types accept, checked again when it is read back.
"""

from __future__ import annotations

from typing import Any

import msgpack

from game.state import Table
from protocol import Logged, parse_server
from protocol.events import Event
from protocol.types import SessionId
from protocol.wire import from_wire, to_wire


def table_bytes(table: Table) -> bytes:
    return msgpack.packb(to_wire(table), use_bin_type=True)


def table_from(data: bytes) -> Table:
    return from_wire(Table, msgpack.unpackb(data, raw=False))


def event_bytes(event: Event) -> bytes:
    """An event without its place in the log (the log gives `session` and `seq`)."""
    return msgpack.packb(to_wire(event), use_bin_type=True)


def logged_from(session: SessionId, seq: int, data: bytes) -> Logged:
    wire: dict[str, Any] = msgpack.unpackb(data, raw=False)
    wire["session"] = session
    wire["seq"] = seq
    logged = parse_server(wire)
    if not isinstance(logged, Logged):
        raise ValueError(f"the log of {session} holds a {wire.get('t')!r} at {seq}")
    return logged
