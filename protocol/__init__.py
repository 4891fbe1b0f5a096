"""Maratang's wire protocol, sans-I/O: typed messages, validation, codecs, error codes.

`parse_client` and `parse_server` turn decoded frames into typed messages; `serialize`
turns any message into its wire map. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from protocol.codec import CODECS, JSON, MSGPACK, Codec, Frame, choose_codec
from protocol.errors import CloseCode, ErrorCode, ProtocolError
from protocol.events import EVENTS, REPLIES, Event, Logged, Reply
from protocol.messages import CLIENT_MESSAGES, ClientMessage
from protocol.types import SessionId
from protocol.wire import Wire, from_wire, to_wire

VERSION = 1

ServerMessage = Reply | Logged


def _kind(data: object) -> str:
    if not isinstance(data, Mapping):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a frame is one map")
    kind = data.get("t")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a frame needs a string field `t`")
    return kind


def parse_client(data: object) -> ClientMessage:
    """A decoded client frame as its typed message.

    Raises `ProtocolError` with `bad_frame` (not a map with `t`), `unknown_type`,
    or `invalid` (naming the field).
    """
    kind = _kind(data)
    cls = CLIENT_MESSAGES.get(kind)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}")
    return from_wire(cls, data)


def parse_server(data: object) -> ServerMessage:
    """A decoded server frame as its typed message (for clients, bots and tests)."""
    kind = _kind(data)
    assert isinstance(data, Mapping)
    reply = REPLIES.get(kind)
    if reply is not None:
        return from_wire(reply, data)
    event = EVENTS.get(kind)
    if event is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}")
    session, seq = data.get("session"), data.get("seq")
    if not isinstance(session, str) or not isinstance(seq, int) or isinstance(seq, bool):
        raise ProtocolError(ErrorCode.INVALID, "a session event needs `session` and `seq`")
    return Logged(SessionId(session), seq, from_wire(event, data))


def serialize(message: ClientMessage | ServerMessage) -> Wire:
    """The wire map of any message."""
    if isinstance(message, Logged):
        return message.to_wire()
    return to_wire(message)


__all__ = [
    "CODECS",
    "JSON",
    "MSGPACK",
    "VERSION",
    "ClientMessage",
    "CloseCode",
    "Codec",
    "ErrorCode",
    "Event",
    "Frame",
    "Logged",
    "ProtocolError",
    "ServerMessage",
    "Wire",
    "choose_codec",
    "parse_client",
    "parse_server",
    "serialize",
]
