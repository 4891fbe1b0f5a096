"""Writes protocol/vectors/: `v1.json`, every example message as JSON text and MessagePack hex,
and `reducer.json`, table views before and after session events (scripts/reducer_vectors.py).

Run after a deliberate change to the wire format or the rules; the protocol tests check that
the files still match what the codecs and the rules produce.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocol import JSON, MSGPACK, serialize  # noqa: E402
from scripts.reducer_vectors import reducer_vectors  # noqa: E402
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


VECTORS = ROOT / "protocol" / "vectors"


def render() -> str:
    return json.dumps(vectors(), ensure_ascii=False, indent=1) + "\n"


def render_reducer() -> str:
    return json.dumps(reducer_vectors(), ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    (VECTORS / "v1.json").write_text(render(), encoding="utf-8")
    (VECTORS / "reducer.json").write_text(render_reducer(), encoding="utf-8")
    print(f"wrote {len(vectors()['vectors'])} message vectors")
    print(f"wrote {len(reducer_vectors()['vectors'])} reducer vectors")
