"""The bots' pure parts: percentiles, SLOs, profile mixes and the sweep's loads (its knee is
tested with the charts)."""

from __future__ import annotations

import random

import pytest

from bots.cli import sweep_loads
from bots.profiles import assign, parse_mix
from bots.progress import LOG_EVERY_S, Board
from bots.seating import Order
from bots.slo import DEFAULTS, judge, parse
from bots.tally import Tally, percentile, summary
from bots.worker import Progress
from tests.support.layers import imports
from tests.support.server import ROOT


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile([], 99) is None
    assert summary([3.0, 1.0, 2.0]) == {"p50": 2.0, "p95": 3.0, "p99": 3.0, "max": 3.0, "count": 3}


def test_an_slo_flag_overrides_its_default_and_bad_ones_are_named() -> None:
    slos = {slo.name: slo for slo in parse(["ack_p99_ms=10", "resume_success>=0.5"])}
    assert slos["ack_p99_ms"].limit == 10
    assert slos["resume_success"].limit == 0.5
    assert slos["frame_gap_p99_ms"].limit == DEFAULTS["frame_gap_p99_ms"]
    with pytest.raises(ValueError, match="nope"):
        parse(["nope=1"])
    with pytest.raises(ValueError, match="not a number"):
        parse(["lost=x"])


def test_slos_judge_ceilings_and_floors() -> None:
    tally = Tally()
    tally.timings["ack_ms"] = [1.0] * 99 + [500.0]
    tally.resumes.update({"replayed": 1, "failed": 1})
    tally.duplicated = 1
    verdicts = judge(parse([]), tally)
    assert verdicts["ack_p99_ms"]["held"] is True
    assert verdicts["resume_success"] == {"limit": 0.999, "value": 0.5, "held": False}
    assert verdicts["lost"]["held"] is False
    assert verdicts["first_narration_p99_ms"] == {"limit": 2000.0, "value": None, "held": True}


def test_a_mix_is_normalised_and_assigned_in_its_ratio() -> None:
    mix = parse_mix("desktop=2,mobile=1,webgl=1")
    assert mix == {"desktop": 0.5, "mobile": 0.25, "webgl": 0.25}
    names = [p.name for p in assign(mix, 6, random.Random(1))]
    assert sorted(names) == ["desktop"] * 3 + ["mobile"] * 2 + ["webgl"]  # ties: mix order
    with pytest.raises(ValueError, match="tablet"):
        parse_mix("tablet")


def test_a_sweep_names_its_loads() -> None:
    assert sweep_loads("tables=50,100") == [50, 100]
    with pytest.raises(ValueError, match="tables=N"):
        sweep_loads("players=3")


def test_the_seq_check_counts_gaps_repeats_and_late_events() -> None:
    tally = Tally()
    order = Order(tally)
    assert [order.take(seq) for seq in (1, 2, 4, 3, 4, 5)] == [True, True, True, False, False, True]
    assert (tally.lost, tally.duplicated, tally.reordered) == (0, 1, 1)
    assert order.take(8) is True
    assert tally.lost == 2
    order.restart(20)
    assert order.take(21) is True
    assert tally.lost == 2


def test_bots_import_only_the_protocol_among_our_packages() -> None:
    ours = {"game", "storage", "llm", "realtime", "tests", "bench"}
    for path, name in imports(ROOT / "bots"):
        assert name not in ours, f"{path} imports {name}"


def test_progress_off_a_terminal_is_a_plain_line_every_few_seconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    board = Board(planned=4)
    assert not board.shown  # pytest's captured output is not a terminal
    board.latest[0] = Progress(0, 3, 9, 120, 1, 0, 4.5, 80.0)
    board.tick(board.started + 1)
    assert capsys.readouterr().out == ""
    board.tick(board.started + LOG_EVERY_S + 1)
    line = capsys.readouterr().out
    assert line.startswith("[   11 s] tables playing: 3 (of 4 slots), sockets: 9,"), line
    assert "ack p99 so far: 4.5 ms" in line
    assert line.count("\n") == 1
    board.tick(board.started + LOG_EVERY_S + 2)
    assert capsys.readouterr().out == ""
