"""Stored tables and logged events: what every release stored still loads, what this one
stores carries its format number and reads back as it was, and what cannot be read is refused
with a reason."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgpack
import pytest
from hypothesis import given

from game.catalog import CustomerId
from game.state import NarrationState, Seat, Submission, Table
from protocol.events import EVENTS as EVENT_CLASSES
from protocol.events import Logged
from protocol.types import Bowl, NarrationId, PlayerId, Result, SessionId
from storage import StorageFormatError
from storage.format import TABLE_FORMAT
from storage.serial import EVENT_FORMAT, event_bytes, logged_from, table_bytes, table_from
from tests.protocol.examples import SERVER
from tests.storage.fixtures.expected import EVENTS, SESSION, TABLES
from tests.storage.strategies import tables

FIXTURES = Path(__file__).parent / "fixtures"


def by_format(kind: str) -> list[Path]:
    """The fixtures of `kind` (table, event), oldest format first."""
    found = FIXTURES.glob(f"{kind}-format*.json")
    return sorted(found, key=lambda path: int(path.stem.rpartition("format")[2]))


TABLE_FILES = by_format("table")
EVENT_FILES = by_format("event")


def fixture(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return found


def raw(entry: dict[str, Any]) -> bytes:
    return base64.b64decode(entry["bytes"])


def packed(value: object) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def stored_tables() -> list[Any]:
    return [
        pytest.param(raw(entry), TABLES[name], id=f"{path.stem}-{name}")
        for path in TABLE_FILES
        for name, entry in fixture(path)["tables"].items()
    ]


def stored_events() -> list[Any]:
    return [
        pytest.param(entry, EVENTS[name], id=f"{path.stem}-{name}")
        for path in EVENT_FILES
        for name, entry in fixture(path)["events"].items()
    ]


# What earlier releases stored -------------------------------------------------------------


def test_there_are_fixtures_of_every_format_up_to_the_current_one() -> None:
    assert [fixture(p)["format"] for p in TABLE_FILES] == list(range(TABLE_FORMAT + 1))
    assert [fixture(p)["format"] for p in EVENT_FILES] == list(range(EVENT_FORMAT + 1))
    for path in TABLE_FILES:
        assert set(fixture(path)["tables"]) == set(TABLES)
    for path in EVENT_FILES:
        assert set(fixture(path)["events"]) == set(EVENTS)


@pytest.mark.parametrize(("data", "expected"), stored_tables())
def test_a_stored_table_of_any_format_loads_as_the_table_it_was(
    data: bytes, expected: Table
) -> None:
    assert table_from(data) == expected


@pytest.mark.parametrize(("entry", "expected"), stored_events())
def test_a_log_entry_of_any_format_loads_as_the_event_it_was(
    entry: dict[str, Any], expected: object
) -> None:
    assert logged_from(entry["session"], entry["seq"], raw(entry)) == expected


def test_each_fixture_holds_the_format_it_is_named_for() -> None:
    for path in TABLE_FILES + EVENT_FILES:
        content = fixture(path)
        for entry in [*content.get("tables", {}).values(), *content.get("events", {}).values()]:
            value = msgpack.unpackb(raw(entry), raw=False)
            assert value == entry["value"]
            assert value.get("fmt", 0) == content["format"]


# What this release stores -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_table_is_stored_exactly_as_its_format_records_it(name: str) -> None:
    """A change to the layout without a new format number fails here."""
    recorded = fixture(FIXTURES / f"table-format{TABLE_FORMAT}.json")["tables"][name]
    assert table_bytes(TABLES[name]) == raw(recorded)


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_an_event_is_logged_exactly_as_its_format_records_it(name: str) -> None:
    """A change to an event's wire form without a new log format number fails here."""
    recorded = fixture(FIXTURES / f"event-format{EVENT_FORMAT}.json")["events"][name]
    assert event_bytes(EVENTS[name].event) == raw(recorded)


def test_new_bytes_carry_the_current_formats() -> None:
    assert msgpack.unpackb(table_bytes(TABLES["tasting"]))["fmt"] == TABLE_FORMAT == 1
    assert msgpack.unpackb(event_bytes(EVENTS["round.resolved"].event))["fmt"] == EVENT_FORMAT
    assert EVENT_FORMAT == 1


@given(tables)
def test_any_table_reads_back_as_it_was_stored(table: Table) -> None:
    assert table_from(table_bytes(table)) == table


@pytest.mark.parametrize(
    "logged", [m for m in SERVER.values() if isinstance(m, Logged)], ids=lambda m: m.event.T
)
def test_every_kind_of_event_reads_back_as_it_was_logged(logged: Logged) -> None:
    assert logged_from(logged.session, logged.seq, event_bytes(logged.event)) == logged


def without_nil(value: object) -> object:
    if isinstance(value, dict):
        return {k: without_nil(v) for k, v in value.items() if v is not None and k != "fmt"}
    if isinstance(value, list):
        return [without_nil(v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(TABLES))
def test_format_1_is_format_0_with_every_key_written(name: str) -> None:
    """So the release before formats, which reads nil as absent and ignores unknown keys,
    reads the tables and log entries this one writes while both run during a deploy."""
    old = fixture(FIXTURES / "table-format0.json")["tables"][name]["value"]
    new = fixture(FIXTURES / "table-format1.json")["tables"][name]["value"]
    assert without_nil(new) == old


def test_format_1_log_entries_are_format_0_marked() -> None:
    old = fixture(FIXTURES / "event-format0.json")["events"]
    new = fixture(FIXTURES / "event-format1.json")["events"]
    for name in EVENTS:
        assert {**old[name]["value"], "fmt": 1} == new[name]["value"]


def test_no_event_has_a_field_named_like_the_format_mark() -> None:
    for cls in EVENT_CLASSES.values():
        assert "fmt" not in {f.name for f in dataclasses.fields(cls)}


# Upgrades -----------------------------------------------------------------------------------


def test_a_format_0_table_gets_the_defaults_its_reader_gave_and_loses_what_it_ignored() -> None:
    old = {
        "session": "s_old",
        "code": "OLDOLD",
        "seed": 7,
        "seats": [{"player": "p_a", "name": "가", "extra": 1}],
        "round": 1,
        "customers": ["first_date"],
        "deadline": None,
        "bowls": {
            "p_a": {"bowl": {"ingredients": ["beef", "enoki", "potato"], "spice": 1}, "at": 5}
        },
        "results": [{"player": "p_a", "score": 3, "place": 1, "breakdown": []}],
        "narration": {"nid": "r1.entrance", "kind": "entrance", "round": 1},
        "someday": "a field this release never had",
    }
    player = PlayerId("p_a")
    assert table_from(packed(old)) == Table(
        SessionId("s_old"),
        "OLDOLD",
        7,
        seats=(Seat(player, "가"),),
        round=1,
        customers=(CustomerId("first_date"),),
        bowls=MappingProxyType({player: Submission(Bowl(("beef", "enoki", "potato"), 1), 5)}),
        results=(Result(player, 3, 1, ()),),
        narration=NarrationState(NarrationId("r1.entrance"), "entrance", 1),
    )


# What cannot be read ------------------------------------------------------------------------


def refused(data: bytes) -> str:
    with pytest.raises(StorageFormatError) as caught:
        table_from(data)
    return str(caught.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"\x92\x01", b"\x81\x01\x02", b"\x91" * 5000, b"\x80\x01", b"not msgpack"],
)
def test_garbage_is_refused_as_unreadable(data: bytes) -> None:
    assert refused(data).startswith("a stored table")


def test_a_value_that_is_no_map_is_refused() -> None:
    assert "expected a MessagePack map" in refused(packed([1, {"session": "s"}]))


def test_a_table_of_a_future_format_is_refused_as_written_by_a_newer_release() -> None:
    future = {**msgpack.unpackb(table_bytes(TABLES["lobby"])), "fmt": TABLE_FORMAT + 1}
    message = refused(packed(future))
    assert f"format {TABLE_FORMAT + 1}, newer than this release reads" in message


@pytest.mark.parametrize("mark", [-1, True, "1", 1.0, None])
def test_a_format_mark_that_is_no_format_number_is_refused(mark: object) -> None:
    stored = {**msgpack.unpackb(table_bytes(TABLES["lobby"])), "fmt": mark}
    assert "is not a format number" in refused(packed(stored))


def current(name: str) -> dict[str, Any]:
    value: dict[str, Any] = msgpack.unpackb(table_bytes(TABLES[name]))
    return value


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda t: t["seats"][1].update(total="12"), "seats[1].total: expected an integer"),
        (lambda t: t["seats"][0].update(away=0), "seats[0].away: expected a boolean"),
        (lambda t: t.update(phase="cooking"), "phase: expected one of lobby, picking"),
        (lambda t: t["results"][0].pop("place"), "results[0]: missing place"),
        (lambda t: t.update(colour="red"), "unexpected colour"),
        (lambda t: t["narration"].update(told_by=["llm", "poet"]), "told_by[1]: expected one"),
        (lambda t: t["bowls"]["p_minji01"]["bowl"].update(spice=9), "spice: must be between"),
        (lambda t: t.update(customers="first_date"), "customers: expected a list"),
        (lambda t: t.update(seed=2.5), "seed: expected an integer"),
    ],
)
def test_a_damaged_table_is_refused_naming_the_session_and_the_field(
    change: Any, reason: str
) -> None:
    stored = current("tasting")
    change(stored)
    message = refused(packed(stored))
    assert message.startswith(f"table {SESSION}")
    assert reason in message


def test_a_log_entry_that_cannot_be_read_is_refused_naming_its_place() -> None:
    session = SessionId("s_broken")
    cases = [
        b"\xc1",
        packed({"fmt": EVENT_FORMAT + 1, "t": "player.away", "player": "p"}),
        packed({"fmt": 1, "t": "player.away"}),
        packed({"fmt": 1, "t": "pong", "ts": 1, "server_time": 2}),
        packed({"fmt": 1, "t": "player.danced", "player": "p"}),
    ]
    for data in cases:
        with pytest.raises(StorageFormatError, match=r"^the log of s_broken at 7"):
            logged_from(session, 7, data)
