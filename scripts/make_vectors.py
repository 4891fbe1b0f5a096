"""Writes protocol/vectors/v1.json: every example message as JSON text and MessagePack hex.

Run after a deliberate change to the wire format; the protocol tests check that the file
still matches what the codecs produce.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocol import JSON, MSGPACK, serialize  # noqa: E402
from tests.protocol.examples import CLIENT, SERVER  # noqa: E402


def vectors() -> dict[str, Any]:
    def entry(name: str, direction: str, message: Any) -> dict[str, Any]:
        wire = serialize(message)
        return {
            "name": name,
            "direction": direction,
            "value": wire,
            "json": JSON.encode(wire),
            "msgpack": MSGPACK.encode(wire).hex(),
        }

    return {
        "protocol": "maratang.v1",
        "about": "Each message as a value, as the JSON text frame and as the MessagePack "
        "binary frame (hex) the server sends or accepts. Clients test their codecs against these.",
        "vectors": [entry(n, "client", m) for n, m in CLIENT.items()]
        + [entry(n, "server", m) for n, m in SERVER.items()],
    }


def render() -> str:
    return json.dumps(vectors(), ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    (ROOT / "protocol" / "vectors" / "v1.json").write_text(render(), encoding="utf-8")
    print(f"wrote {len(vectors()['vectors'])} vectors")
