"""MessagePack and JSON codecs behind one interface, chosen by WebSocket subprotocol.

A codec turns wire maps into frames and frames into wire maps; it knows nothing of message
types. JSON travels in text frames, MessagePack in binary frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgpack
import orjson

from protocol.errors import ErrorCode, ProtocolError
from protocol.wire import Wire

Frame = bytes | str

PROTOCOL = "maratang.v1"
"""The protocol's version; each subprotocol names it and its encoding."""
JSON_SUBPROTOCOL = f"{PROTOCOL}.json"
MSGPACK_SUBPROTOCOL = f"{PROTOCOL}.msgpack"


class Codec(Protocol):
    """Encodes wire maps into frames and back. Implementations are stateless and shared."""

    subprotocol: str
    binary: bool

    def encode(self, wire: Wire) -> Frame: ...

    def decode(self, frame: Frame) -> Any:
        """The decoded value (any shape), or `ProtocolError(bad_frame)` if it is not
        valid in this encoding."""
        ...


class JsonCodec:
    subprotocol = JSON_SUBPROTOCOL
    binary = False

    def encode(self, wire: Wire) -> str:
        return orjson.dumps(wire).decode()

    def decode(self, frame: Frame) -> Any:
        try:
            return orjson.loads(frame)
        except orjson.JSONDecodeError as exc:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"not JSON: {exc}") from None


class MsgpackCodec:
    subprotocol = MSGPACK_SUBPROTOCOL
    binary = True

    def encode(self, wire: Wire) -> bytes:
        return msgpack.packb(wire, use_bin_type=True)

    def decode(self, frame: Frame) -> Any:
        data = frame.encode() if isinstance(frame, str) else frame
        try:
            return msgpack.unpackb(data, raw=False, strict_map_key=True, ext_hook=_no_ext)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"not MessagePack: {exc}") from None


def _no_ext(code: int, data: bytes) -> None:
    raise ValueError(f"extension type {code} is not part of the protocol")


JSON = JsonCodec()
MSGPACK = MsgpackCodec()
CODECS: dict[str, Codec] = {JSON.subprotocol: JSON, MSGPACK.subprotocol: MSGPACK}


def choose_codec(offered: Sequence[str]) -> Codec | None:
    """The codec for a handshake offering `offered`, in the client's order of preference.

    No offer gets JSON. An offer naming only unknown subprotocols (another protocol version)
    gets None: the server refuses the handshake rather than guess.
    """
    if not offered:
        return JSON
    for name in offered:
        codec = CODECS.get(name.strip())
        if codec is not None:
            return codec
    return None
