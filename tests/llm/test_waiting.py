"""The order this process's narrations get model slots in: best priority, then arrival."""

from __future__ import annotations

from llm.waiting import PRIORITY, WaitingLine


def test_tastings_come_before_entrances_and_entrances_before_finales() -> None:
    assert PRIORITY["tasting"] < PRIORITY["entrance"] < PRIORITY["finale"]


def test_a_narration_tries_for_a_slot_only_while_no_better_one_waits() -> None:
    line = WaitingLine()
    entrance, finale, tasting = (line.ticket(k) for k in ("entrance", "finale", "tasting"))
    late_entrance = line.ticket("entrance")
    assert all(line.may_try(t) for t in (entrance, finale, tasting))  # nobody waits yet
    assert [line.join(t) for t in (entrance, finale, late_entrance)] == [True] * 3
    assert not line.join(entrance)  # once
    assert line.may_try(entrance)
    assert not line.may_try(late_entrance)  # the earlier entrance goes first
    assert not line.may_try(finale)
    assert line.may_try(tasting)  # a newcomer better than every waiting one
    assert line.others(entrance) == 2
    assert line.others(tasting) == 3
    assert [line.leave(entrance), line.leave(entrance)] == [True, False]
    assert line.may_try(late_entrance)
    assert len(line) == 2
