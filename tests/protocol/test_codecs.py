"""Round trips through both codecs, the golden vectors, and the sans-I/O rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    JSON,
    MSGPACK,
    Codec,
    ProtocolError,
    choose_codec,
    parse_client,
    parse_server,
    serialize,
)
from protocol.codec import JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL
from protocol.errors import ErrorCode
from scripts.make_vectors import render
from tests.protocol.examples import CLIENT, SERVER
from tests.support.layers import imports

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "protocol" / "vectors" / "v1.json"
CODECS = [pytest.param(JSON, id="json"), pytest.param(MSGPACK, id="msgpack")]


def load_vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]
    return vectors


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("name", sorted(CLIENT))
def test_client_messages_survive_a_round_trip(codec: Codec, name: str) -> None:
    message = CLIENT[name]
    assert parse_client(codec.decode(codec.encode(serialize(message)))) == message


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("name", sorted(SERVER))
def test_server_messages_survive_a_round_trip(codec: Codec, name: str) -> None:
    message = SERVER[name]
    assert parse_server(codec.decode(codec.encode(serialize(message)))) == message


def test_every_message_type_has_a_golden_vector() -> None:
    from protocol.events import EVENTS, REPLIES
    from protocol.messages import CLIENT_MESSAGES

    kinds = {v["value"]["t"] for v in load_vectors()}
    assert kinds == set(CLIENT_MESSAGES) | set(EVENTS) | set(REPLIES)


@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: str(v["name"]))
def test_golden_vectors_match_both_codecs(vector: dict[str, Any]) -> None:
    value = vector["value"]
    assert JSON.encode(value) == vector["json"]
    assert MSGPACK.encode(value).hex() == vector["msgpack"]
    assert JSON.decode(vector["json"]) == value
    assert MSGPACK.decode(bytes.fromhex(vector["msgpack"])) == value
    typed = parse_client(value) if vector["direction"] == "client" else parse_server(value)
    assert serialize(typed) == value


def test_the_vector_file_is_current() -> None:
    assert VECTORS.read_text(encoding="utf-8") == render()


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        ([], JSON_SUBPROTOCOL),
        ([MSGPACK_SUBPROTOCOL], MSGPACK_SUBPROTOCOL),
        (["maratang.v9.cbor", JSON_SUBPROTOCOL], JSON_SUBPROTOCOL),
        ([JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL], JSON_SUBPROTOCOL),
        (["maratang.v2.msgpack"], None),
    ],
)
def test_the_codec_follows_the_offered_subprotocols(offered: list[str], chosen: str | None) -> None:
    codec = choose_codec(offered)
    assert (codec.subprotocol if codec else None) == chosen


@pytest.mark.parametrize(
    ("codec", "frame"),
    [(JSON, "{not json"), (MSGPACK, b"\xc1"), (MSGPACK, b"\xd4\x01\x00"), (JSON, b"\xff\xfe")],
)
def test_undecodable_frames_are_bad_frames(codec: Codec, frame: bytes | str) -> None:
    with pytest.raises(ProtocolError) as caught:
        codec.decode(frame)
    assert caught.value.code == ErrorCode.BAD_FRAME


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ([1, 2], ErrorCode.BAD_FRAME, None),
        ({"type": "ping"}, ErrorCode.BAD_FRAME, None),
        ({"t": "dance"}, ErrorCode.UNKNOWN_TYPE, None),
        ({"t": "session.join"}, ErrorCode.INVALID, "code"),
        ({"t": "session.join", "code": "abc"}, ErrorCode.INVALID, "code"),
        ({"t": "session.join", "code": "OOOOOO"}, ErrorCode.INVALID, "code"),
        ({"t": "session.settings", "rounds": 11}, ErrorCode.INVALID, "rounds"),
        ({"t": "session.settings", "seconds": 5}, ErrorCode.INVALID, "seconds"),
        ({"t": "session.settings", "lang": "fr"}, ErrorCode.INVALID, "lang"),
        ({"t": "session.create", "settings": {"rounds": 11}}, ErrorCode.INVALID, "settings.rounds"),
        ({"t": "session.create", "settings": {"lang": 3}}, ErrorCode.INVALID, "settings.lang"),
        (
            {"t": "hello", "token": "x", "resume": {"session": "s", "seq": -1}},
            ErrorCode.INVALID,
            "resume.seq",
        ),
        (
            {"t": "bowl.submit", "round": 1, "ingredients": ["a", "b"], "spice": 1},
            ErrorCode.INVALID,
            "ingredients",
        ),
        (
            {"t": "bowl.submit", "round": 1, "ingredients": list("abcdefg"), "spice": 1},
            ErrorCode.INVALID,
            "ingredients",
        ),
        (
            {"t": "bowl.submit", "round": 1, "ingredients": ["a", "b", "a"], "spice": 1},
            ErrorCode.INVALID,
            "ingredients",
        ),
        (
            {"t": "bowl.submit", "round": 1, "ingredients": ["a", "b", "c"], "spice": 5},
            ErrorCode.INVALID,
            "spice",
        ),
        (
            {"t": "bowl.submit", "round": 1, "ingredients": ["a", "b", "c"], "spice": -1},
            ErrorCode.INVALID,
            "spice",
        ),
        (
            {"t": "bowl.submit", "round": True, "ingredients": ["a", "b", "c"], "spice": 1},
            ErrorCode.INVALID,
            "round",
        ),
        (
            {"t": "bowl.submit", "round": 1, "ingredients": ["a", 2, "c"], "spice": 1},
            ErrorCode.INVALID,
            "ingredients[1]",
        ),
        ({"t": "hello", "token": ""}, ErrorCode.INVALID, "token"),
        ({"t": "hello", "token": "x", "resume": {"session": "s"}}, ErrorCode.INVALID, "resume.seq"),
        ({"t": "ping", "ts": "now"}, ErrorCode.INVALID, "ts"),
        ({"t": "ping", "ts": 1, "rid": "r" * 65}, ErrorCode.INVALID, "rid"),
    ],
)
def test_invalid_frames_name_the_problem(data: object, code: ErrorCode, field: str | None) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client(data)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    message = parse_client({"t": "ping", "ts": 5, "future": {"x": 1}})
    assert serialize(message) == {"t": "ping", "ts": 5}


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_any_decoded_value_parses_or_fails_with_a_protocol_error(value: object) -> None:
    for codec in (JSON, MSGPACK):
        decoded = codec.decode(codec.encode({"t": "bowl.submit", "x": value}))
        for data in (decoded, value, {"t": "session.create", "settings": value}):
            assert _outcome(data) in ("session.create", "bad_frame", "unknown_type", "invalid")


def _outcome(data: object) -> str:
    """The parsed message's type, or the error code it was refused with."""
    try:
        return str(serialize(parse_client(data))["t"])
    except ProtocolError as exc:
        return exc.code.value


def test_protocol_and_game_do_no_io() -> None:
    forbidden = {
        "asyncio",
        "starlette",
        "redis",
        "asyncpg",
        "httpx",
        "uvicorn",
        "websockets",
        "socket",
        "realtime",
        "storage",
        "llm",
    }
    for package in ("protocol", "game"):
        for path, name in imports(ROOT / package):
            assert name not in forbidden, f"{path} imports {name}"
