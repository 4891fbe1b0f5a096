"""The bots' charts, drawn from their reports: one run's latency and throughput over time, and a
sweep over several loads with its knee.

matplotlib comes with the `plots` extra (`pip install 'maratang[plots]'`) and is imported only
when a chart is drawn, so the bots run without it. Charts are drawn on the Agg canvas straight
to PNG files: no display, no pyplot state shared between charts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Report = dict[str, Any]

LATENCIES = {
    "ack_p99_ms": "command → ack",
    "first_narration_p99_ms": "action → first narration",
}
"""The timeline's latency series (each the p99 of the run so far), with their labels."""
SIZE = (10.0, 5.0)
DPI = 100


@dataclass(frozen=True)
class SweepPoint:
    """One load of a sweep, as its report tells it."""

    load: int
    held: bool
    """Whether every SLO held at this load, every table finishing its game."""
    goodput: float
    p99s: dict[str, float]
    """The measured value of each latency SLO (`…_ms`), NaN where nothing was measured."""
    limits: dict[str, float]


def sweep_points(reports: Iterable[Report], parameter: str = "tables") -> list[SweepPoint]:
    """The sweep's loads in ascending order; `parameter` is the run flag the sweep varied."""
    points = [
        SweepPoint(
            load=int(report["run"][parameter]),
            held=_held(report),
            goodput=float(report["goodput"]),
            p99s={name: _number(slo["value"]) for name, slo in _latency_slos(report)},
            limits={name: _number(slo["limit"]) for name, slo in _latency_slos(report)},
        )
        for report in reports
    ]
    return sorted(points, key=lambda point: point.load)


def knee(points: Sequence[SweepPoint]) -> int | None:
    """The last load where every SLO held: the highest load with no breach at it or at any
    smaller load. A load that holds again after a breach is luck, not capacity, so it does not
    move the knee. None when the smallest load already breached (or there is no load)."""
    found = None
    for point in sorted(points, key=lambda p: p.load):
        if not point.held:
            break
        found = point.load
    return found


def plot_run(report: Report, folder: Path) -> list[Path]:
    """Two charts of one run from its `timeline`: the latency p99s of the run so far, over
    time (`latency.png`), and events per second with open sockets (`events.png`)."""
    folder.mkdir(parents=True, exist_ok=True)
    timeline = report["timeline"]
    seconds = [float(sample["t"]) for sample in timeline]

    latency = _figure()
    axes = latency.subplots()
    for key, label in LATENCIES.items():
        axes.plot(seconds, [_number(sample[key]) for sample in timeline], label=label)
    axes.set(xlabel="seconds into the run", ylabel="ms", title="Latency: p99 of the run so far")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)

    events = _figure()
    rate = events.subplots()
    rate.plot(seconds, [_number(s["events_per_s"]) for s in timeline], color="tab:blue")
    rate.set(xlabel="seconds into the run", ylabel="events received / s", title="Throughput")
    rate.set_ylim(bottom=0)
    rate.grid(alpha=0.3)
    sockets = rate.twinx()
    sockets.plot(seconds, [_number(s["sockets"]) for s in timeline], color="tab:gray", ls="--")
    sockets.set(ylim=(0, None), ylabel="open sockets (dashed)")
    return [_save(latency, folder / "latency.png"), _save(events, folder / "events.png")]


def plot_sweep(
    reports: list[Report], folder: Path, knee: int | None, parameter: str = "tables"
) -> Path:
    """The sweep chart (`sweep.png`): each latency SLO's p99 per load against its limit, the
    goodput on a second axis, and the knee (see `knee`) marked."""
    folder.mkdir(parents=True, exist_ok=True)
    points = sweep_points(reports, parameter)
    loads = [point.load for point in points]
    figure = _figure()
    axes = figure.subplots()
    names = sorted({name for point in points for name in point.p99s})
    for index, name in enumerate(names):
        color = f"C{index}"
        values = [point.p99s.get(name, math.nan) for point in points]
        axes.plot(loads, values, marker="o", color=color, label=name)
        limit = next((p.limits[name] for p in points if name in p.limits), math.nan)
        axes.axhline(limit, color=color, ls=":", lw=1)
    axes.set(xlabel=parameter, ylabel="p99, ms (dotted: the SLO)", title="Sweep")
    axes.grid(alpha=0.3)
    goodput = axes.twinx()
    goodput.plot(loads, [p.goodput for p in points], color="black", ls="--", label="goodput")
    goodput.set(ylim=(0, 1.05), ylabel="goodput (dashed)")
    if knee is not None:
        axes.axvline(knee, color="tab:red", lw=2, alpha=0.6, label=f"knee: {parameter}={knee}")
    axes.legend(loc="center left")
    return _save(figure, folder / "sweep.png")


def _held(report: Report) -> bool:
    slos = report["slos"].values()
    return all(slo["held"] for slo in slos) and report["tables"]["failed"] == 0


def _latency_slos(report: Report) -> list[tuple[str, dict[str, Any]]]:
    return [(name, slo) for name, slo in report["slos"].items() if name.endswith("_ms")]


def _number(value: float | None) -> float:
    """A figure as a float; a missing one (nothing measured) as NaN, which charts leave out."""
    return math.nan if value is None else float(value)


def _figure() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI, layout="tight")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, format="png")
    return path
