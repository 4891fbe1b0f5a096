"""The reference reducer (`protocol/reducer.py`) against the reducer vectors, which the
server's own rules and view made; and the vector files are what the generator makes now."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol.reducer import View, apply_event, own_bowl
from scripts.make_vectors import VECTORS, render_reducer
from tests.support.client import without_nulls

REDUCER = VECTORS / "reducer.json"


def load() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(REDUCER.read_text(encoding="utf-8"))["vectors"]
    return vectors


def replay(vector: dict[str, Any]) -> View:
    view: View = vector["before"]
    for event in vector["events"]:
        view = apply_event(view, event)
        if event["t"] == "bowl.submitted" and event["player"] == vector["viewer"]:
            view = own_bowl(view, vector["own_bowls"][str(event["round"])])
    return view


@pytest.mark.parametrize("vector", load(), ids=lambda v: str(v["name"]))
def test_the_reducer_turns_each_view_into_the_servers_next(vector: dict[str, Any]) -> None:
    before = json.dumps(vector["before"], sort_keys=True)
    assert without_nulls(replay(vector)) == without_nulls(vector["after"])
    assert json.dumps(vector["before"], sort_keys=True) == before, "the reducer mutated a view"


def test_the_vectors_cover_every_session_event_and_the_late_sync() -> None:
    from protocol.events import EVENTS

    vectors = load()
    seen = {event["t"] for vector in vectors for event in vector["events"]}
    assert seen == set(EVENTS)
    late = [v for v in vectors if v["before"]["phase"] == "picking" and v["events"]]
    assert any(v["before"].get("narration", {}).get("text") for v in late)


def test_a_reducer_that_forgets_a_rule_fails_the_vectors() -> None:
    """The vectors can tell: dropping any one event's rule breaks at least one of them."""
    from protocol import reducer

    for kind in list(reducer._STEPS):
        rule = reducer._STEPS.pop(kind)
        try:
            failed = [v for v in load() if without_nulls(replay(v)) != without_nulls(v["after"])]
        finally:
            reducer._STEPS[kind] = rule
        assert failed, f"no vector notices a reducer without its {kind} rule"


def test_the_reducer_vectors_are_fresh() -> None:
    assert REDUCER.read_text(encoding="utf-8") == render_reducer(), (
        "protocol/vectors/reducer.json is stale: run python scripts/make_vectors.py"
    )
