"""Upgrades of stored values from each older format to the next, on plain decoded data.

`TABLE_UPGRADES[n]` turns a table map of format n (its `fmt` key already taken off) into one
of format n + 1; `EVENT_UPGRADES[n]` does the same for a logged event. `storage.serial` runs
them in order from a value's format to the current one. An upgrade only reshapes: it need not
check what it leaves alone (the current format's reader checks every field), and it must not
depend on anything that may change later (protocol or `game.state` classes, their defaults):
the format it reads is frozen, so is the upgrade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Plain = dict[str, Any]
Upgrade = Callable[[Plain], Plain]

_REQUIRED = object()
"""A key format 0 always had; missing, it stays missing and the reader says so."""

# Format 0: the protocol's wire map of the table (`protocol.wire.to_wire`), as written before
# formats had numbers. Its reader filled absent keys and keys whose value is nil from the
# classes' defaults, and ignored keys it did not know; these are those defaults, frozen.
_TABLE_0: Mapping[str, object] = {
    "session": _REQUIRED,
    "code": _REQUIRED,
    "seed": _REQUIRED,
    "settings": {},
    "phase": "lobby",
    "seats": (),
    "host": None,
    "round": 0,
    "customers": (),
    "deadline": None,
    "bowls": {},
    "results": None,
    "narration": None,
    "pending": None,
    "ranking": None,
}
_SETTINGS_0 = {"rounds": 5, "seconds": 45, "lang": "ko"}
_SEAT_0 = {"player": _REQUIRED, "name": _REQUIRED, "away": False, "total": 0}
_SUBMISSION_0 = {"bowl": _REQUIRED, "at": _REQUIRED}
_BOWL_0 = {"ingredients": _REQUIRED, "spice": _REQUIRED}
_RESULT_0 = {
    "player": _REQUIRED,
    "score": _REQUIRED,
    "place": _REQUIRED,
    "breakdown": _REQUIRED,
    "bowl": None,
}
_POINTS_0 = {"rule": _REQUIRED, "points": _REQUIRED}
_NARRATION_0 = {
    "nid": _REQUIRED,
    "kind": _REQUIRED,
    "round": _REQUIRED,
    "text": "",
    "source": None,
    "told_by": (),
}
_RANK_0 = {"player": _REQUIRED, "name": _REQUIRED, "total": _REQUIRED, "place": _REQUIRED}


def _filled(value: object, layout: Mapping[str, object]) -> Any:
    """`value` with format 0's reading applied: every key of `layout`, the default where the
    key was absent or nil, and no other key. Anything but a map is left for the reader to
    refuse."""
    if not isinstance(value, Mapping):
        return value
    out: Plain = {}
    for key, default in layout.items():
        found = value.get(key)
        if found is not None:
            out[key] = found
        elif default is not _REQUIRED:
            out[key] = default
    return out


def _each(value: object, upgrade: Callable[[object], object]) -> Any:
    return [upgrade(item) for item in value] if isinstance(value, list | tuple) else value


def _submission_0(value: object) -> object:
    submission = _filled(value, _SUBMISSION_0)
    if isinstance(submission, dict) and "bowl" in submission:
        submission["bowl"] = _filled(submission["bowl"], _BOWL_0)
    return submission


def _result_0(value: object) -> object:
    result = _filled(value, _RESULT_0)
    if isinstance(result, dict):
        if "breakdown" in result:
            result["breakdown"] = _each(result["breakdown"], lambda p: _filled(p, _POINTS_0))
        if result["bowl"] is not None:
            result["bowl"] = _filled(result["bowl"], _BOWL_0)
    return result


def table_0_to_1(table: Plain) -> Plain:
    """Format 1 is format 0 with every key written; the upgrade writes the ones format 0's
    reader would have filled in, and drops the ones it would have ignored."""
    new: Plain = _filled(table, _TABLE_0)
    new["settings"] = _filled(new["settings"], _SETTINGS_0)
    new["seats"] = _each(new["seats"], lambda s: _filled(s, _SEAT_0))
    bowls = new["bowls"]
    if isinstance(bowls, Mapping):
        new["bowls"] = {player: _submission_0(s) for player, s in bowls.items()}
    if new["results"] is not None:
        new["results"] = _each(new["results"], _result_0)
    if new["narration"] is not None:
        new["narration"] = _filled(new["narration"], _NARRATION_0)
    if new["ranking"] is not None:
        new["ranking"] = _each(new["ranking"], lambda r: _filled(r, _RANK_0))
    return new


def event_0_to_1(event: Plain) -> Plain:
    """A logged event's body is the same in formats 0 and 1 (the protocol's wire map of the
    event); format 1 only marks it with its number."""
    return event


TABLE_UPGRADES: dict[int, Upgrade] = {0: table_0_to_1}
EVENT_UPGRADES: dict[int, Upgrade] = {0: event_0_to_1}
