"""The rules, driven command by command, as the table service drives them."""

from __future__ import annotations

import pytest

from game import commands as c
from game.phases import TRANSITIONS, IllegalTransition, check_transition
from game.rules import apply, draw_customers, final_ranking
from game.state import Seat, Table, TableSettings
from game.view import table_view
from protocol.errors import ErrorCode, ProtocolError
from protocol.events import Event, NarrationEnd
from protocol.types import Bowl, NarrationId, PlayerId, SessionId

A, B, C = PlayerId("a"), PlayerId("b"), PlayerId("c")
GOOD = Bowl(("bok_choy", "enoki", "beef"), 2)
OTHER = Bowl(("fish_balls", "dumplings", "shrimp", "quail_eggs"), 1)


def run(table: Table, *commands: c.Command) -> tuple[Table, list[Event]]:
    events: list[Event] = []
    for command in commands:
        table, new = apply(table, command)
        events.extend(new)
    return table, events


def kinds(events: list[Event]) -> list[str]:
    return [e.T for e in events]


def fresh(rounds: int = 2, seed: int = 7) -> Table:
    return Table(SessionId("s"), "ABCDEF", seed, TableSettings(rounds=rounds, seconds=30))


def seated(*players: PlayerId, rounds: int = 2) -> Table:
    table, _ = run(fresh(rounds), *(c.Join(p, p.upper()) for p in players))
    return table


def started(*players: PlayerId, rounds: int = 2) -> Table:
    table, _ = run(seated(*players, rounds=rounds), c.Start(A, now=1_000))
    return table


def refused(table: Table, command: c.Command) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        apply(table, command)
    return caught.value


def end_narration(table: Table, now: int = 5_000) -> tuple[Table, list[Event]]:
    assert table.narration is not None
    return run(table, c.NarrateEnd(table.narration.nid, "told", "fallback", now))


def test_every_phase_has_a_row_and_illegal_moves_raise() -> None:
    assert set(TRANSITIONS) == {"lobby", "picking", "tasting", "over", "closed"}
    assert check_transition("lobby", "picking") == "picking"
    with pytest.raises(IllegalTransition):
        check_transition("lobby", "tasting")
    with pytest.raises(IllegalTransition):
        check_transition("closed", "lobby")


def test_the_first_player_becomes_host() -> None:
    table, events = run(fresh(), c.Join(A, "민지"))
    assert table.host == A
    assert kinds(events) == ["player.joined", "host.changed"]


def test_a_full_table_refuses_a_seventh_player() -> None:
    table = seated(*(PlayerId(f"p{i}") for i in range(6)))
    assert refused(table, c.Join(PlayerId("p7"), "late")).code == ErrorCode.SESSION_FULL


def test_joining_twice_keeps_one_seat() -> None:
    table, events = run(seated(A), c.Join(A, "A"))
    assert len(table.seats) == 1
    assert events == []


def test_only_the_host_starts_and_only_from_the_lobby() -> None:
    table = seated(A, B)
    assert refused(table, c.Start(B, 0)).code == ErrorCode.NOT_HOST
    table, _ = run(table, c.Start(A, 0))
    assert refused(table, c.Start(A, 0)).code == ErrorCode.WRONG_PHASE
    assert refused(table, c.Join(C, "C")).code == ErrorCode.WRONG_PHASE


def test_settings_change_in_the_lobby_by_the_host_only() -> None:
    table = seated(A, B)
    assert refused(table, c.ChangeSettings(B, rounds=3)).code == ErrorCode.NOT_HOST
    table, events = run(table, c.ChangeSettings(A, rounds=3, lang="en"))
    assert (table.settings.rounds, table.settings.seconds, table.settings.lang) == (3, 30, "en")
    assert kinds(events) == ["settings.changed"]
    table, _ = run(table, c.Start(A, 0))
    assert refused(table, c.ChangeSettings(A, rounds=4)).code == ErrorCode.WRONG_PHASE


def test_start_opens_round_one_with_a_deadline_and_an_entrance_narration() -> None:
    table, events = run(seated(A, B), c.Start(A, now=1_000))
    assert kinds(events) == ["game.started", "round.started", "narration.start"]
    assert table.phase == "picking"
    assert table.round == 1
    assert table.deadline == 1_000 + 30_000
    assert table.narration is not None
    assert table.narration.nid == "r1.entrance"


def test_the_same_seed_draws_the_same_customers() -> None:
    assert draw_customers(42, 5) == draw_customers(42, 5)
    assert len(set(draw_customers(42, 10))) == 10
    assert any(draw_customers(s, 5) != draw_customers(42, 5) for s in range(5))
    assert started(A, B).customers == started(A, B).customers


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (c.Submit(A, 2, GOOD, 0), "round"),
        (c.Submit(A, 1, Bowl(("bok_choy", "enoki", "caviar"), 1), 0), "ingredients"),
    ],
)
def test_a_bad_bowl_is_refused_naming_the_field(command: c.Command, field: str) -> None:
    error = refused(started(A, B), command)
    assert (error.code, error.field) == (ErrorCode.INVALID, field)


def test_bowls_are_refused_outside_picking() -> None:
    assert refused(seated(A, B), c.Submit(A, 1, GOOD, 0)).code == ErrorCode.WRONG_PHASE


def test_a_stranger_cannot_submit() -> None:
    assert refused(started(A, B), c.Submit(C, 1, GOOD, 0)).code == ErrorCode.NOT_IN_SESSION


def test_the_round_closes_when_every_connected_player_submitted() -> None:
    table, events = run(started(A, B), c.Submit(A, 1, GOOD, 10))
    assert kinds(events) == ["bowl.submitted"]
    table, events = run(table, c.Submit(B, 1, OTHER, 20))
    assert kinds(events) == ["bowl.submitted", "round.resolved"]
    assert table.phase == "tasting"
    assert table.pending == "tasting"  # the entrance is still being told


def test_an_away_player_does_not_hold_up_the_round() -> None:
    table, events = run(started(A, B), c.Submit(A, 1, GOOD, 10), c.Away(B))
    assert kinds(events) == ["bowl.submitted", "player.away", "round.resolved"]
    assert table.results is not None
    missing = table.results[-1]
    assert (missing.player, missing.score, missing.bowl) == (B, 0, None)


def test_the_last_bowl_counts_and_ties_go_to_the_earlier_final_bowl() -> None:
    table, _ = run(
        started(A, B),
        c.Submit(A, 1, OTHER, 10),
        c.Submit(A, 1, GOOD, 30),  # A's final bowl comes after B's
        c.CloseRound(1, 40),
    )
    assert table.results is not None
    assert table.results[[r.player for r in table.results].index(A)].bowl == GOOD
    table, _ = run(
        started(A, B), c.Submit(B, 1, GOOD, 10), c.Submit(A, 1, GOOD, 20), c.CloseRound(1, 40)
    )
    assert table.results is not None
    assert [r.player for r in table.results] == [B, A]
    assert [r.place for r in table.results] == [1, 2]
    assert table.results[0].score == table.results[1].score


def test_a_late_deadline_changes_nothing() -> None:
    table, _ = run(started(A, B), c.CloseRound(1, 40))
    assert table.phase == "tasting"
    again, events = apply(table, c.CloseRound(1, 50))
    assert again is table
    assert events == ()


def test_the_tasting_waits_for_the_entrance_then_the_next_round_follows_it() -> None:
    table, _ = run(started(A, B), c.CloseRound(1, 40))
    table, events = end_narration(table)  # the entrance ends
    assert kinds(events) == ["narration.end", "narration.start"]
    assert table.narration is not None
    assert table.narration.nid == "r1.tasting"
    assert table.streaming == "r1.tasting"
    table, events = run(table, c.NarrateEnd(NarrationId("r1.tasting"), "맛있다", "llm", 9_000))
    assert events[0] == NarrationEnd(nid=NarrationId("r1.tasting"), text="맛있다", source="llm")
    assert kinds(events) == ["narration.end", "round.started", "narration.start"]
    assert (table.round, table.phase, table.deadline) == (2, "picking", 9_000 + 30_000)


def test_narration_commands_for_another_narration_are_refused() -> None:
    table = started(A, B)
    error = refused(table, c.NarrateEnd(NarrationId("r9.tasting"), "x", "llm", 10))
    assert error.code == ErrorCode.WRONG_PHASE


def test_the_last_tasting_ends_the_game_with_a_ranking_and_a_finale() -> None:
    table = started(A, B, rounds=1)
    table, _ = end_narration(table)
    table, _ = run(table, c.Submit(A, 1, GOOD, 10), c.Submit(B, 1, OTHER, 20))
    table, events = end_narration(table)
    assert kinds(events) == ["narration.end", "game.over", "narration.start"]
    assert table.phase == "over"
    assert table.ranking is not None
    assert {r.player for r in table.ranking} == {A, B}
    assert table.narration is not None
    assert table.narration.nid == "finale"


def test_equal_totals_share_a_place() -> None:
    seats = (Seat(A, "A", total=50), Seat(B, "B", total=80), Seat(C, "C", total=50))
    ranking = final_ranking(seats)
    assert [(r.player, r.place) for r in ranking] == [(B, 1), (A, 2), (C, 2)]


def test_when_the_host_leaves_the_longest_seated_player_hosts() -> None:
    table, events = run(seated(A, B, C), c.Leave(A))
    assert table.host == B
    assert kinds(events) == ["player.left", "host.changed"]


def test_an_empty_table_closes() -> None:
    table, events = run(started(A), c.Leave(A))
    assert table.phase == "closed"
    assert kinds(events) == ["player.left", "session.closed"]
    assert refused(table, c.Join(B, "B")).code == ErrorCode.SESSION_NOT_FOUND


def test_the_grace_period_removes_only_a_player_still_away() -> None:
    table, events = run(seated(A, B), c.Away(B), c.Back(B), c.GraceOver(B))
    assert kinds(events) == ["player.away", "player.back"]
    table, events = run(table, c.Away(B), c.GraceOver(B))
    assert kinds(events) == ["player.away", "player.left"]
    assert table.seat(B) is None


def test_a_player_sees_their_own_bowl_but_only_that_others_submitted() -> None:
    table, _ = run(started(A, B), c.Submit(A, 1, GOOD, 10))
    mine, theirs = table_view(table, A), table_view(table, B)
    assert mine.bowl == GOOD
    assert theirs.bowl is None
    assert [p.submitted for p in theirs.players] == [True, False]


def test_the_same_seed_and_commands_replay_the_same_game() -> None:
    script: list[c.Command] = [
        c.Join(A, "A"),
        c.Join(B, "B"),
        c.Start(A, 1_000),
        c.Submit(A, 1, GOOD, 1_100),
        c.Submit(B, 1, OTHER, 1_200),
        c.NarrateEnd(NarrationId("r1.entrance"), "e", "fallback", 2_000),
        c.NarrateEnd(NarrationId("r1.tasting"), "t", "fallback", 3_000),
        c.Submit(B, 2, GOOD, 3_100),
        c.CloseRound(2, 9_000),
        c.NarrateEnd(NarrationId("r2.entrance"), "e", "fallback", 9_100),
        c.NarrateEnd(NarrationId("r2.tasting"), "t", "fallback", 9_200),
    ]
    first = run(fresh(rounds=2, seed=99), *script)
    second = run(fresh(rounds=2, seed=99), *script)
    assert first == second
    assert first[0].phase == "over"
    other = run(fresh(rounds=2, seed=100), *script)
    assert other[0].customers != first[0].customers
