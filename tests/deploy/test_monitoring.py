"""Every PromQL expression of the alerts and the dashboard, held to what really runs: the
metric names that a real `maratang serve`, the vLLM simulator and Debian's exporters expose, and
a real Prometheus scraping them all, which evaluates every rule and every panel without error."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import Client, guest
from tests.support.exporters import running_exporter, scrape
from tests.support.monitoring import ALERT_RULES, ALERTS, JOBS, PANELS, SERVICES, expressions
from tests.support.postgres import ADMIN_URL
from tests.support.prometheus import Prometheus, running_prometheus
from tests.support.promql import exposed_names, metric_names
from tests.support.redis import REDIS_URL
from tests.support.server import running_server, running_sim

SOURCES = {
    "maratang_": "maratang",
    "vllm:": "vllm",
    "redis_": "redis",
    "pg_": "postgres",
    "node_": "node",
}
"""Which scrape job exposes a metric, by the metric's prefix."""
PROMETHEUS_OWN = {"up", "ALERTS"}
"""Series Prometheus writes itself: `up` for every scrape ("Jobs and instances", Prometheus
docs), `ALERTS` for every pending or firing alert ("Alerting rules: inspecting alerts during
runtime")."""
REDIS_EXPORTER = "prometheus-redis-exporter"
PG_EXPORTER = "prometheus-postgres-exporter"
NODE_EXPORTER = "prometheus-node-exporter"


@pytest.fixture(scope="module")
def parts() -> Iterator[dict[str, str]]:
    """Every part Prometheus scrapes, running, by its job in prometheus.yml: `host:port`. A
    real `maratang serve`, the vLLM simulator, and Debian's exporters given the variables and
    flags that the compose file gives their images, watching the tests' Redis and PostgreSQL."""
    redis_env = {"REDIS_ADDR": REDIS_URL}
    assert set(redis_env) == set(SERVICES["redis-exporter"]["environment"])
    node_flags = SERVICES["node-exporter"]["command"]
    with contextlib.ExitStack() as running:
        app = running.enter_context(running_server())
        sim = running.enter_context(running_sim())
        yield {
            "maratang": f"{app.host}:{app.port}",
            "vllm": f"{sim.host}:{sim.port}",
            "redis": running.enter_context(running_exporter(REDIS_EXPORTER, env=redis_env)),
            "postgres": running.enter_context(running_exporter(PG_EXPORTER, env=postgres_env())),
            "node": running.enter_context(running_exporter(NODE_EXPORTER, node_flags)),
        }


@pytest.fixture(scope="module")
def exposed(parts: dict[str, str]) -> dict[str, str]:
    """Each part's /metrics answer, by job."""
    return {job: scrape(target) for job, target in parts.items()}


def postgres_env() -> dict[str, str]:
    """The compose file's three variables, for the tests' PostgreSQL (which trusts)."""
    database = ADMIN_URL.split("@", 1)[1].split("?")[0]
    env = {
        "DATA_SOURCE_URI": f"{database}?sslmode=disable",
        "DATA_SOURCE_USER": ADMIN_URL.split("://", 1)[1].split("@")[0].split(":")[0],
        "DATA_SOURCE_PASS": "unused",
    }
    assert set(env) == set(SERVICES["postgres-exporter"]["environment"])
    return env


def test_the_exporters_reach_what_they_watch(exposed: dict[str, str]) -> None:
    assert re.search(r"^redis_up 1$", exposed["redis"], re.M)
    assert re.search(r"^pg_up 1$", exposed["postgres"], re.M)
    assert re.search(r"^node_filesystem_avail_bytes\{", exposed["node"], re.M)


def test_every_expression_reads_only_metrics_that_exist(exposed: dict[str, str]) -> None:
    names = {part: exposed_names(text) for part, text in exposed.items()}
    missing: list[str] = []
    used: set[str] = set()
    for where, expr in expressions():
        for name in metric_names(expr):
            part = next((p for prefix, p in SOURCES.items() if name.startswith(prefix)), None)
            used.add(part or "prometheus")
            if name not in (names[part] if part else PROMETHEUS_OWN):
                missing.append(f"{where}: {name} (not exposed by {part or 'Prometheus'})")
    assert missing == []
    assert used == {*SOURCES.values(), "prometheus"}


def panel(title: str) -> str:
    """The expression of a one-query panel, at a 1 m rate interval (Grafana's variable)."""
    ((target,),) = [p["targets"] for p in PANELS if p["title"] == title]
    return str(target["expr"]).replace("$__rate_interval", "1m")


async def evaluated(prometheus: Prometheus, timeout: float = 30) -> list[dict[str, Any]]:
    """Every rule once Prometheus has evaluated each at least once."""
    async with asyncio.timeout(timeout), httpx.AsyncClient() as http:
        while True:
            answer = (await http.get(f"{prometheus.url}/api/v1/rules")).json()
            rules = [rule for group in answer["data"]["groups"] for rule in group["rules"]]
            if rules and all(rule["health"] != "unknown" for rule in rules):
                return rules
            await asyncio.sleep(0.2)


async def test_a_real_prometheus_scrapes_every_part_and_evaluates_every_rule_and_panel(
    parts: dict[str, str], tmp_path: Path
) -> None:
    jobs = {job: [parts[job]] for job in JOBS if job != "prometheus"}
    with running_prometheus(jobs, tmp_path, rules=[ALERT_RULES]) as prometheus:
        token, _ = await guest(f"http://{parts['maratang']}", "민지")
        player = await Client.hello(f"ws://{parts['maratang']}/ws", token)
        try:
            created = await player.request("session.create", settings={"rounds": 1})
            assert created["t"] == "ack", created
            await prometheus.until("sum(up)", len(jobs))
            await prometheus.until(panel("Players connected"), 1)
            await prometheus.until(panel("Live tables"), 1)
            rules = await evaluated(prometheus)
            assert {rule["name"] for rule in rules} == {rule["alert"] for rule in ALERTS}
            assert [(r["name"], r["lastError"]) for r in rules if r["health"] != "ok"] == []
            for _, expr in expressions():
                await prometheus.query(expr.replace("$__rate_interval", "1m"))  # it evaluates
        finally:
            await player.close()
        await prometheus.until(panel("Players connected"), 0)
