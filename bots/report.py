"""The report of a run: one JSON document for machines (its keys are a contract: plots and
release scripts read them), the same as Markdown for people, and a short printed summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bots.slo import Slo, all_held, judge
from bots.table import TableResult
from bots.tally import TIMINGS, Tally, merged

EXIT_HELD = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BREACHED = 3
"""Exit codes: every SLO held; the run could not be made; bad arguments; an SLO breached
or a table failed to finish its game."""


def build(
    run: dict[str, Any],
    slos: list[Slo],
    results: list[TableResult],
    timeline: list[dict[str, Any]],
    cost: dict[str, Any],
) -> dict[str, Any]:
    everything = merged([tally for result in results for _, tally in result.seats])
    verdicts = judge(slos, everything)
    failed = sum(not result.finished for result in results)
    held = all(v["held"] for v in verdicts.values()) and failed == 0
    return {
        "run": run,
        "slos": verdicts,
        "goodput": goodput(slos, results),
        "tables": {"planned": len(results), "finished": len(results) - failed, "failed": failed},
        "profiles": {name: tally.to_json() for name, tally in by_profile(results).items()},
        "timeline": timeline,
        "cost": cost,
        "errors": sorted({result.error for result in results if result.error}),
        "exit_code": EXIT_HELD if held else EXIT_BREACHED,
    }


def goodput(slos: list[Slo], results: list[TableResult]) -> float:
    """The share of tables that finished their game with every SLO held at that table."""
    good = sum(
        result.finished and all_held(slos, merged([t for _, t in result.seats]))
        for result in results
    )
    return round(good / len(results), 4) if results else 0.0


def by_profile(results: list[TableResult]) -> dict[str, Tally]:
    tallies: dict[str, list[Tally]] = {}
    for result in results:
        for profile, tally in result.seats:
            tallies.setdefault(profile, []).append(tally)
    return {name: merged(group) for name, group in sorted(tallies.items())}


def write(report: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    (folder / "report.md").write_text(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    run, tables = report["run"], report["tables"]
    lines = [
        "# Maratang load test",
        "",
        f"{run['url']}: {run['tables']} tables of {run['players']} players, {run['rounds']} "
        f"rounds; started {run['started']}, {run['duration_s']} s.",
        "",
        f"**{verdict(report['exit_code'])}**. Tables: {tables['finished']} of "
        f"{tables['planned']} finished, {tables['failed']} failed; goodput "
        f"{report['goodput']:.1%}.",
        "",
        "| SLO | limit | value | held |",
        "|---|---|---|---|",
        *(
            f"| {name} | {v['limit']:g} | {_figure(v['value'])} | {'yes' if v['held'] else 'NO'} |"
            for name, v in report["slos"].items()
        ),
    ]
    for name, profile in report["profiles"].items():
        lines += ["", *profile_section(name, profile)]
    lines += ["", *cost_section(report["cost"])]
    if report["errors"]:
        lines += ["", "## Errors", "", *(f"- {error}" for error in report["errors"])]
    return "\n".join(lines) + "\n"


def profile_section(name: str, profile: dict[str, Any]) -> list[str]:
    rows = [
        f"| {timing} | " + " | ".join(_figure(profile[timing][q]) for q in QUANTILES) + " |"
        for timing in TIMINGS
    ]
    counts = ", ".join(f"{k} {v}" for k, v in profile["resumes"].items())
    closes = ", ".join(f"{code}: {n}" for code, n in profile["closes"].items()) or "none"
    sources = ", ".join(f"{k} {v}" for k, v in profile["sources"].items())
    return [
        f"## {name}",
        "",
        "| ms | p50 | p95 | p99 | max | count |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"- events lost {profile['lost']}, duplicated {profile['duplicated']}, reordered "
        f"{profile['reordered']}; narrations that did not add up "
        f"{profile['narration_mismatches']}",
        f"- resumes: {counts}; closes by code: {closes}",
        f"- narration sources: {sources}; refused commands {profile['errors']}",
    ]


QUANTILES = ("p50", "p95", "p99", "max", "count")


def cost_section(cost: dict[str, Any]) -> list[str]:
    server = cost["server_us_per_frame"]
    measured = "not measured (give --server-pid)" if server is None else f"{server} µs a frame"
    return [
        "## Cost",
        "",
        f"- bots: {cost['bots_cpu_s']} CPU s for {cost['frames']} frames received, "
        f"{cost['bot_us_per_frame']} µs a frame",
        f"- server: {measured}",
        f"- limited by: {cost['limited_by']}",
    ]


def summary(report: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    lines = [
        f"{verdict(report['exit_code'])}: {report['tables']['finished']}/"
        f"{report['tables']['planned']} tables finished, goodput {report['goodput']:.1%}",
        *(
            f"  {'ok ' if v['held'] else 'BREACHED'} {name} {_figure(v['value'])} "
            f"(limit {v['limit']:g})"
            for name, v in report["slos"].items()
        ),
        f"  cost: bots {report['cost']['bot_us_per_frame']} µs/frame, server "
        f"{_figure(report['cost']['server_us_per_frame'])} µs/frame, limited by "
        f"{report['cost']['limited_by']}",
    ]
    return "\n".join(lines)


def verdict(exit_code: int) -> str:
    return "every SLO held" if exit_code == EXIT_HELD else "SLO breached"


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
