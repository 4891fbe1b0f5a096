"""Records what this release stores, as fixtures every later release must keep loading.

Writes `tests/storage/fixtures/table-format<n>.json` and `event-format<n>.json` for the current
formats (`storage.serial`): the bytes of the values in `tests/storage/fixtures/expected.py`,
and the same bytes decoded, for reading. A file that exists is never rewritten: it is what a
release wrote, and a later release must read it as it is. Run it before a change of format,
on the code that still writes the old one (see `storage/serial.py`).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import msgpack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.format import TABLE_FORMAT  # noqa: E402
from storage.serial import EVENT_FORMAT, event_bytes, table_bytes  # noqa: E402
from tests.storage.fixtures.expected import EVENTS, TABLES  # noqa: E402

FIXTURES = ROOT / "tests" / "storage" / "fixtures"


def entry(data: bytes) -> dict[str, Any]:
    return {"bytes": base64.b64encode(data).decode(), "value": msgpack.unpackb(data, raw=False)}


def about(what: str, fmt: int) -> str:
    return (
        f"{what} in format {fmt}, as the releases writing format {fmt} store them; `value` is"
        " the same bytes decoded, for reading; the values they hold are in expected.py."
        " Never regenerate."
    )


def record(path: Path, content: dict[str, Any]) -> None:
    if path.exists():
        print(f"{path.relative_to(ROOT)} exists: kept as it is")
        return
    path.write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{path.relative_to(ROOT)} recorded")


def main() -> None:
    record(
        FIXTURES / f"table-format{TABLE_FORMAT}.json",
        {
            "about": about("Stored tables", TABLE_FORMAT),
            "format": TABLE_FORMAT,
            "tables": {name: entry(table_bytes(t)) for name, t in TABLES.items()},
        },
    )
    events = {
        name: {"session": e.session, "seq": e.seq, **entry(event_bytes(e.event))}
        for name, e in EVENTS.items()
    }
    record(
        FIXTURES / f"event-format{EVENT_FORMAT}.json",
        {"about": about("Logged events", EVENT_FORMAT), "format": EVENT_FORMAT, "events": events},
    )


if __name__ == "__main__":
    main()
