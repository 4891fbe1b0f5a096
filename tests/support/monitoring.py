"""The monitoring profile's files as the tests read them: the compose services, Prometheus's
jobs and alert rules, the Grafana dashboard and its provisioning, the operations guide; and
promtool."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import yaml

from tests.support.server import ROOT

DEPLOY = ROOT / "deploy"
ALERT_RULES = DEPLOY / "prometheus" / "alerts.yml"
SERVICES: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())[
    "services"
]
SCRAPES = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
JOBS: dict[str, Any] = {job["job_name"]: job for job in SCRAPES["scrape_configs"]}
ALERTS: list[dict[str, Any]] = [
    rule for group in yaml.safe_load(ALERT_RULES.read_text())["groups"] for rule in group["rules"]
]
GRAFANA = DEPLOY / "grafana"
DASHBOARD: dict[str, Any] = json.loads((GRAFANA / "dashboards" / "maratang.json").read_text())
PANELS: list[dict[str, Any]] = [p for p in DASHBOARD["panels"] if p["type"] != "row"]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def alert_expressions() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every alert rule."""
    for rule in ALERTS:
        yield f"alert {rule['alert']}", rule["expr"]


def panel_expressions() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every query of the dashboard."""
    for panel in PANELS:
        for target in panel["targets"]:
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]


def expressions() -> Iterator[tuple[str, str]]:
    yield from alert_expressions()
    yield from panel_expressions()


def section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = len(heading.split()[0])
    start = text.index(heading + "\n") + len(heading)
    end = re.search(rf"^#{{1,{level}}} ", text[start:], re.M)
    return text[start : start + end.start()] if end else text[start:]


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Debian's promtool, run from the checkout."""
    return subprocess.run(
        ["promtool", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
