"""The bots' charts: real PNGs from small reports, and the knee of a sweep."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from bots.plots import knee, plot_run, plot_sweep, sweep_points

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LIMITS = {"ack_p99_ms": 250.0, "first_narration_p99_ms": 1500.0, "frame_gap_p99_ms": 400.0}


def report(tables: int, ack: float, narration: float, goodput: float) -> dict[str, Any]:
    """A report as the bots write it, cut down to what the charts read."""
    values = {"ack_p99_ms": ack, "first_narration_p99_ms": narration, "frame_gap_p99_ms": 90.0}
    slos = {
        name: {
            "limit": limit,
            "value": values[name],
            "held": values[name] <= limit,
        }
        for name, limit in LIMITS.items()
    }
    slos["lost"] = {"limit": 0, "value": 0, "held": True}
    return {
        "run": {"tables": tables, "players": 4, "rounds": 2, "duration_s": 30.0},
        "slos": slos,
        "goodput": goodput,
        "tables": {"planned": tables, "finished": tables, "failed": 0},
        "timeline": [
            {
                "t": float(t),
                "events_per_s": 40.0 * tables + t,
                "sockets": 4 * tables,
                "ack_p99_ms": ack / 2 + t,
                "first_narration_p99_ms": None if t == 0 else narration,  # none measured yet
            }
            for t in range(10)
        ],
    }


SWEEP = [
    report(200, ack=180, narration=1900, goodput=0.4),  # out of order: the chart sorts
    report(50, ack=20, narration=300, goodput=1.0),
    report(100, ack=60, narration=700, goodput=1.0),
    report(400, ack=900, narration=4000, goodput=0.0),
]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's header, after checking it is one."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_chart(path: Path) -> None:
    width, height = png_size(path)
    assert (width, height) == (1000, 500)
    assert path.stat().st_size > 10_000, "an almost empty image: nothing was drawn"


def test_a_run_gives_a_latency_chart_and_a_throughput_chart(tmp_path: Path) -> None:
    paths = plot_run(report(50, ack=40, narration=800, goodput=1.0), tmp_path / "charts")
    assert [p.name for p in paths] == ["latency.png", "events.png"]
    for path in paths:
        assert path.parent == tmp_path / "charts"
        assert_chart(path)


def test_the_sweep_chart_marks_the_knee(tmp_path: Path) -> None:
    chosen = knee(sweep_points(SWEEP))
    assert chosen == 100
    marked = plot_sweep(SWEEP, tmp_path / "marked", chosen)
    unmarked = plot_sweep(SWEEP, tmp_path / "unmarked", None)
    assert marked.name == "sweep.png"
    assert_chart(marked)
    assert_chart(unmarked)
    assert marked.read_bytes() != unmarked.read_bytes(), "the knee left no mark"


def test_sweep_points_come_in_load_order_with_their_latency_slos_only() -> None:
    points = sweep_points(SWEEP)
    assert [p.load for p in points] == [50, 100, 200, 400]
    assert [p.held for p in points] == [True, True, False, False]
    assert points[0].p99s == {
        "ack_p99_ms": 20,
        "first_narration_p99_ms": 300,
        "frame_gap_p99_ms": 90,
    }
    assert points[0].limits == LIMITS
    assert points[2].goodput == 0.4


def test_a_load_where_a_table_failed_its_game_did_not_hold() -> None:
    runs = [report(load, ack=20, narration=300, goodput=1.0) for load in (50, 100, 200)]
    runs[1]["tables"] = {"planned": 100, "finished": 99, "failed": 1}
    assert [p.held for p in sweep_points(runs)] == [True, False, True]
    assert knee(sweep_points(runs)) == 50


def test_a_sweep_may_vary_another_flag() -> None:
    runs = [report(10, ack=20, narration=300, goodput=1.0) for _ in range(3)]
    for players, run in zip((6, 2, 4), runs, strict=True):
        run["run"]["players"] = players
    assert [p.load for p in sweep_points(runs, "players")] == [2, 4, 6]


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        ({50: True, 100: True, 200: True}, 200),
        ({50: True, 100: True, 200: False}, 100),
        ({50: False, 100: True}, None),  # breached at the smallest load: no knee
        ({50: True, 100: False, 200: True}, 50),  # holding again after a breach is luck
        ({200: True, 50: True, 100: False}, 50),  # given out of order
        ({}, None),
    ],
)
def test_the_knee_is_the_last_load_before_the_first_breach(
    held: dict[int, bool], expected: int | None
) -> None:
    runs = [
        report(load, ack=20 if ok else 900, narration=300, goodput=1.0) for load, ok in held.items()
    ]
    assert knee(sweep_points(runs)) == expected
