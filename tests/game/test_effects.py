"""`game.effects`: what follows a change of a table, decided without a server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from game import commands as c
from game.effects import (
    CancelTimer,
    Effect,
    Forget,
    GraceEnds,
    HurryNarration,
    KeepSnapshot,
    NarrationWatch,
    RecordClosed,
    RecordGameOver,
    RecordNarration,
    RecordRound,
    RoundDue,
    SetTimer,
    StartNarration,
    StopNarration,
    Timer,
    effects,
    timer_key,
    timer_of,
)
from game.rules import apply
from game.state import Table
from protocol.events import NarrationEnd
from protocol.types import Bowl, NarrationId, PlayerId, SessionId

A, B = PlayerId("a"), PlayerId("b")
NOW, GRACE = 1_000_000, 30_000
BOWL = Bowl(ingredients=("bok_choy", "beef", "enoki"), spice=1)


def step(table: Table, command: c.Command, now: int = NOW) -> tuple[Table, tuple[Effect, ...]]:
    after, events = apply(table, command)
    return after, effects(table, after, events, now, GRACE)


def seated(rounds: int = 2) -> Table:
    table = Table(SessionId("s_t"), "ABCDEF", seed=7)
    table = replace(table, settings=replace(table.settings, rounds=rounds, seconds=30))
    for player in (A, B):
        table, _ = apply(table, c.Join(player, player.upper()))
    return table


def timers(todo: tuple[Effect, ...]) -> list[Effect]:
    return [e for e in todo if isinstance(e, SetTimer | CancelTimer)]


def test_a_game_start_sets_the_round_timer_and_starts_the_entrance() -> None:
    _, todo = step(seated(), c.Start(A, NOW))
    assert timers(todo) == [SetTimer(RoundDue(1), NOW + 30_000)]
    assert StartNarration(NarrationId("r1.entrance")) in todo
    assert todo[0] == KeepSnapshot()


def test_closing_a_round_cancels_its_timer_records_it_and_hurries_the_entrance() -> None:
    table, _ = step(seated(), c.Start(A, NOW))
    table, todo = step(table, c.CloseRound(1, NOW + 30_000))
    assert timers(todo) == [CancelTimer(RoundDue(1))]
    assert [RecordRound(), KeepSnapshot(now=True)] == [
        e for e in todo if isinstance(e, RecordRound) or e == KeepSnapshot(now=True)
    ]
    assert HurryNarration() in todo  # the tasting waits behind the entrance
    assert not any(isinstance(e, StartNarration) for e in todo)


def test_the_end_of_a_narration_is_recorded_and_starts_the_one_that_waited() -> None:
    table, _ = step(seated(), c.Start(A, NOW))
    table, _ = step(table, c.CloseRound(1, NOW + 1))
    end = c.NarrateEnd(NarrationId("r1.entrance"), "어서 오세요", "llm", NOW + 2)
    table, todo = step(table, end)
    assert RecordNarration(NarrationEnd(nid=end.nid, text=end.text, source="llm")) in todo
    assert StartNarration(NarrationId("r1.tasting")) in todo


def test_an_away_player_gets_a_grace_timer_that_coming_back_cancels() -> None:
    table, todo = step(seated(), c.Away(B))
    assert timers(todo) == [SetTimer(GraceEnds(B), NOW + GRACE)]
    table, todo = step(table, c.Back(B))
    assert timers(todo) == [CancelTimer(GraceEnds(B))]


def test_leaving_while_away_cancels_the_grace_and_the_last_one_out_closes_the_table() -> None:
    table, _ = step(seated(), c.Start(A, NOW))
    table, _ = step(table, c.Away(B))
    table, todo = step(table, c.Leave(B))
    assert CancelTimer(GraceEnds(B)) in todo
    table, todo = step(table, c.Leave(A))
    assert CancelTimer(RoundDue(1)) in todo
    assert [e for e in todo if isinstance(e, StopNarration | RecordClosed | Forget)] == [
        RecordClosed(),
        Forget(),
        StopNarration(),
    ]


def test_the_last_round_ends_the_game_with_a_record_and_the_finale() -> None:
    table, _ = step(seated(rounds=1), c.Start(A, NOW))
    table, _ = step(table, c.NarrateEnd(NarrationId("r1.entrance"), "x", "llm", NOW))
    table, _ = step(table, c.Submit(A, 1, BOWL, NOW))
    table, todo = step(table, c.Submit(B, 1, BOWL, NOW))
    assert CancelTimer(RoundDue(1)) in todo
    table, todo = step(table, c.NarrateEnd(NarrationId("r1.tasting"), "y", "llm", NOW))
    assert RecordGameOver() in todo
    assert StartNarration(NarrationId("finale")) in todo
    assert timers(todo) == []


def test_a_change_that_needs_nothing_asks_for_nothing_but_a_snapshot() -> None:
    _, todo = step(seated(), c.ChangeSettings(A, rounds=3))
    assert todo == (KeepSnapshot(),)


def test_a_restored_table_is_rearmed_and_nothing_is_recorded_again() -> None:
    table, _ = step(seated(), c.Start(A, NOW))
    table, _ = step(table, c.Away(B))
    later = NOW + 60_000  # its round's deadline passed while it was lost
    todo = effects(None, table, (), later, GRACE)
    assert todo == (
        SetTimer(RoundDue(1), later),
        SetTimer(GraceEnds(B), later + GRACE),
        StartNarration(NarrationId("r1.entrance")),
    )


def test_a_restored_table_between_rounds_waits_for_nothing_but_its_narration() -> None:
    table, _ = step(seated(), c.Start(A, NOW))
    table, _ = step(table, c.CloseRound(1, NOW))
    assert effects(None, table, (), NOW, GRACE) == (StartNarration(NarrationId("r1.entrance")),)


@pytest.mark.parametrize(
    "timer", [RoundDue(3), GraceEnds(PlayerId("u_1:2")), NarrationWatch(NarrationId("finale"))]
)
def test_a_timer_is_read_back_from_its_stored_key(timer: Timer) -> None:
    assert timer_of(*timer_key(timer)) == timer


def test_an_unknown_stored_timer_is_not_guessed() -> None:
    assert timer_of("round", "x1") is None
    assert timer_of("lottery", "1") is None
