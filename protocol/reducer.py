"""The table as a client keeps it: a `sync.state` (TableView) with session events applied.

This is the reference every client's reducer follows (the JS client's `reducer.js`, the C#
SDK's `TableReducer`); `protocol/vectors/reducer.json`, made from the server's own rules and
view, is the judge. It works on wire values (the dicts a codec decodes), so a client needs
nothing else of ours.

`game.started` changes nothing here: a game starts from the lobby, whose view already holds
its players and rounds; the round it starts comes with `round.started`.

A view is only as new as the events applied to it: apply each event once, in `seq` order.
The one thing no event carries is the viewer's own bowl: when `bowl.submitted` names the
viewer, the client calls `own_bowl` with the bowl it sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

View = dict[str, Any]
WireEvent = Mapping[str, Any]


def apply_event(view: View, event: WireEvent) -> View:
    """The view after `event`: a new dict (the old one is left as it was). Events of a type
    this version does not know leave the view unchanged."""
    step = _STEPS.get(event["t"])
    return step(view, event) if step else view


def own_bowl(view: View, bowl: Mapping[str, Any]) -> View:
    """The view once the viewer's own bowl for the current round is accepted."""
    return {**view, "bowl": dict(bowl)}


def _seats(view: View, change: Callable[[dict[str, Any]], dict[str, Any]]) -> View:
    return {**view, "players": [change(seat) for seat in view["players"]]}


def _seat(view: View, player: str, **fields: Any) -> View:
    return _seats(view, lambda seat: {**seat, **fields} if seat["id"] == player else seat)


def _joined(view: View, event: WireEvent) -> View:
    player = event["player"]
    if any(seat["id"] == player["id"] for seat in view["players"]):
        return _seat(view, player["id"], name=player["name"], away=False)
    seat = {"id": player["id"], "name": player["name"], "total": 0, "away": False}
    return {**view, "players": [*view["players"], {**seat, "submitted": False}]}


def _left(view: View, event: WireEvent) -> View:
    return {**view, "players": [s for s in view["players"] if s["id"] != event["player"]]}


def _settings(view: View, event: WireEvent) -> View:
    settings = {key: event[key] for key in ("rounds", "seconds", "lang")}
    return {**view, "settings": settings}


def _round_started(view: View, event: WireEvent) -> View:
    view = _seats(view, lambda seat: {**seat, "submitted": False})
    return {
        **view,
        "phase": "picking",
        "round": event["round"],
        "customer": event["customer"],
        "deadline": event["deadline"],
        "bowl": None,
        "results": None,
    }


def _bowl_submitted(view: View, event: WireEvent) -> View:
    if event["round"] != view["round"]:
        return view
    return _seat(view, event["player"], submitted=True)


def _round_resolved(view: View, event: WireEvent) -> View:
    totals = event["totals"]
    view = _seats(view, lambda seat: {**seat, "total": totals.get(seat["id"], seat["total"])})
    return {
        **view,
        "phase": "tasting",
        "round": event["round"],
        "deadline": None,
        "results": event["results"],
    }


def _narration_start(view: View, event: WireEvent) -> View:
    return {**view, "narration": {"nid": event["nid"], "kind": event["kind"], "text": ""}}


def _narration_delta(view: View, event: WireEvent) -> View:
    narration = view.get("narration")
    if narration is None or narration["nid"] != event["nid"]:
        return view  # a delta of a narration this view never saw start: nothing to add it to
    return {**view, "narration": {**narration, "text": narration["text"] + event["text"]}}


def _narration_end(view: View, event: WireEvent) -> View:
    narration = view.get("narration")
    if narration is None or narration["nid"] != event["nid"]:
        return view
    ended = {**narration, "text": event["text"], "source": event["source"]}
    return {**view, "narration": ended}


def _game_over(view: View, event: WireEvent) -> View:
    return {**view, "phase": "over", "deadline": None, "ranking": event["ranking"]}


def _closed(view: View, event: WireEvent) -> View:
    return {**view, "phase": "closed", "deadline": None}


_STEPS: dict[str, Callable[[View, WireEvent], View]] = {
    "player.joined": _joined,
    "player.left": _left,
    "player.away": lambda view, event: _seat(view, event["player"], away=True),
    "player.back": lambda view, event: _seat(view, event["player"], away=False),
    "host.changed": lambda view, event: {**view, "host": event["host"]},
    "settings.changed": _settings,
    "round.started": _round_started,
    "bowl.submitted": _bowl_submitted,
    "round.resolved": _round_resolved,
    "narration.start": _narration_start,
    "narration.delta": _narration_delta,
    "narration.end": _narration_end,
    "game.over": _game_over,
    "session.closed": _closed,
}
