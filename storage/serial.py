"""Tables and logged events as bytes, in storage's own numbered formats.

Every stored value is a MessagePack map whose `fmt` key says which format it is in; a map
without `fmt` is format 0, what releases wrote before formats had numbers. Reading takes a
value of any known format up to the current one, upgrades it one format at a time
(`storage.upgrades`) and checks it; bytes that cannot be read raise `StorageFormatError`.

- A **table** (the Redis state hash's `t`, a PostgreSQL snapshot's `state`) is in format 1:
  the layout `storage.format` writes and reads field by field. Format 0 was the protocol's
  wire map of the table (`protocol.wire.to_wire`), so a protocol change changed it silently.
- A **logged event** (a Redis stream entry's `e`, and the same bytes in the pub/sub doorbell)
  is in format 1: the protocol's wire map of the event, without `session` and `seq`, marked
  `fmt: 1`. The log holds protocol events for replay to clients, so its body stays the
  protocol's; the number is what lets a later release upgrade entries written before a
  protocol change to an event's fields (log entries live up to a day: a resume may read one
  written by the previous release). It is a key in the map rather than a wrapper around it
  so that a release before formats, which ignores unknown keys, reads these entries too.
  Format 0 entries are the same maps without the mark. No event may have a field `fmt`.

Adding a format (when the layout of a table, or the wire form of a logged event, changes):

1. Write the new layout in `storage.format` (or, for events, the protocol change) and bump
   `TABLE_FORMAT` (or `EVENT_FORMAT`).
2. Add to `storage.upgrades` the upgrade from the previous format to the new one, on plain
   data, depending on nothing that may change later.
3. Run `scripts/record_stored.py` to record the new format's bytes of the values in
   `tests/storage/fixtures/expected.py` (`table-format<n>.json`, `event-format<n>.json`). Keep
   every older fixture, recorded when its format was new: the tests load all of them through
   the new reader, and check that the current format writes exactly its recorded bytes (so a
   layout changed without a new number fails).
4. Older releases refuse a newer format. If processes of two releases share a store during a
   deploy, release the reader first (the new format read, the old one still written), then
   the writer; or replace every process at once. See docs/operations.md.
"""

from __future__ import annotations

from typing import Any

import msgpack

from game.state import Table
from protocol import Logged, ProtocolError, parse_server
from protocol.events import Event
from protocol.types import SessionId
from protocol.wire import to_wire
from storage.format import TABLE_FORMAT, StorageFormatError, decode_table, encode_table
from storage.upgrades import EVENT_UPGRADES, TABLE_UPGRADES, Upgrade

EVENT_FORMAT = 1
FORMAT_KEY = "fmt"


def table_bytes(table: Table) -> bytes:
    return msgpack.packb({FORMAT_KEY: TABLE_FORMAT, **encode_table(table)}, use_bin_type=True)


def table_from(data: bytes) -> Table:
    """The table stored as `data` in any format this release knows, or `StorageFormatError`."""
    body = _current(data, "a stored table", TABLE_FORMAT, TABLE_UPGRADES)
    return decode_table(body)


def event_bytes(event: Event) -> bytes:
    """An event without its place in the log (the log gives `session` and `seq`)."""
    return msgpack.packb({FORMAT_KEY: EVENT_FORMAT, **to_wire(event)}, use_bin_type=True)


def logged_from(session: SessionId, seq: int, data: bytes) -> Logged:
    """The event logged as `data` at `seq` of `session`, or `StorageFormatError`."""
    where = f"the log of {session} at {seq}"
    wire = _current(data, where, EVENT_FORMAT, EVENT_UPGRADES)
    wire["session"] = session
    wire["seq"] = seq
    try:
        logged = parse_server(wire)
    except ProtocolError as exc:
        raise StorageFormatError(f"{where}: {exc.message}") from None
    if not isinstance(logged, Logged):
        raise StorageFormatError(f"{where}: a {wire.get('t')!r} is not a session event")
    return logged


def _current(data: bytes, what: str, current: int, upgrades: dict[int, Upgrade]) -> Any:
    """The body of the stored map `data` (its `fmt` taken off), upgraded to format `current`."""
    try:
        value = msgpack.unpackb(data, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise StorageFormatError(
            f"{what}: unreadable MessagePack ({exc or type(exc).__name__})"
        ) from None
    if not isinstance(value, dict):
        raise StorageFormatError(f"{what}: expected a MessagePack map")
    version = value.pop(FORMAT_KEY, 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise StorageFormatError(f"{what}: format {version!r} is not a format number")
    if version > current:
        raise StorageFormatError(
            f"{what} is in format {version}, newer than this release reads ({current}):"
            " a newer release wrote it"
        )
    for older in range(version, current):
        value = upgrades[older](value)
    return value
