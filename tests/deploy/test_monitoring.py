"""The monitoring profile: Prometheus's configuration and alert rules checked by Debian's
promtool, each alert held to its threshold, the Grafana dashboard and its provisioning, and every
PromQL expression held to the metric names that a real `maratang serve`, the vLLM simulator and
the real exporters expose."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from scripts import make_dashboard
from tests.support.exporters import running_exporter, scrape
from tests.support.postgres import ADMIN_URL
from tests.support.promql import exposed_names, metric_names
from tests.support.redis import REDIS_URL
from tests.support.server import ROOT, running_server, running_sim

DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
SCRAPES = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
JOBS = {job["job_name"]: job for job in SCRAPES["scrape_configs"]}
RULES = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
ALERTS = [rule for group in RULES["groups"] for rule in group["rules"]]
ALERT_TESTS = yaml.safe_load((ROOT / "tests" / "deploy" / "alerts_test.yml").read_text())
GRAFANA = DEPLOY / "grafana"
DATASOURCES = yaml.safe_load(
    (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
)
PROVIDERS = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "maratang.yml").read_text())
DASHBOARD = json.loads(make_dashboard.DASHBOARD.read_text())
PANELS = [panel for panel in DASHBOARD["panels"] if panel["type"] != "row"]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()

SOURCES = {
    "maratang_": "app",
    "vllm:": "vllm",
    "redis_": "redis",
    "pg_": "postgres",
    "node_": "node",
}
"""Which part exposes a metric, by the metric's prefix."""
PROMETHEUS_OWN = {"up", "ALERTS"}
"""Series Prometheus writes itself: `up` for every scrape ("Jobs and instances", Prometheus
docs), `ALERTS` for every pending or firing alert ("Alerting rules: inspecting alerts during
runtime")."""
JOB_MATCHER = re.compile(r'job\s*(=~|=)\s*"([^"]*)"')
MOUNTPOINT = re.compile(r'mountpoint\s*=\s*"([^"]*)"')


def expressions() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every alert rule and every dashboard query."""
    for rule in ALERTS:
        yield f"alert {rule['alert']}", rule["expr"]
    for panel in PANELS:
        for target in panel["targets"]:
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]


def section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = len(heading.split()[0])
    start = text.index(heading + "\n") + len(heading)
    end = re.search(rf"^#{{1,{level}}} ", text[start:], re.M)
    return text[start : start + end.start()] if end else text[start:]


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_promtool_accepts_the_configuration_and_the_alert_rules() -> None:
    config = promtool("check", "config", "deploy/prometheus/prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    rules = promtool("check", "rules", "--lint=all", "--lint-fatal", "deploy/prometheus/alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in rules.stdout


def test_each_alert_fires_past_its_threshold_and_not_before() -> None:
    result = promtool("test", "rules", "tests/deploy/alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    fired = {
        case["alertname"]
        for test in ALERT_TESTS["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert fired == {rule["alert"] for rule in ALERTS}


def test_every_alert_has_a_severity_a_summary_and_a_runbook_line() -> None:
    runbook = section(OPERATIONS, "### Alerts")
    for rule in ALERTS:
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"], name
        assert rule["annotations"]["description"], name
        assert rule["annotations"]["runbook"] == f"docs/operations.md, Alerts, {name}"
        assert f"`{name}`" in runbook, f"docs/operations.md says nothing of {name}"


def test_the_rules_name_only_scrape_jobs_that_exist() -> None:
    for where, expr in expressions():
        for operator, value in JOB_MATCHER.findall(expr):
            jobs = set(value.split("|")) if operator == "=~" else {value}
            assert jobs <= set(JOBS), f"{where}: {jobs - set(JOBS)}"


def test_every_scrape_target_is_a_service_on_a_port_it_exposes() -> None:
    assert set(JOBS) == {"maratang", "vllm", "redis", "postgres", "node", "prometheus"}
    for name, job in JOBS.items():
        ((target,),) = [group["targets"] for group in job["static_configs"]]
        host, port = target.rsplit(":", 1)
        service = "prometheus" if host == "127.0.0.1" else host
        assert port in SERVICES[service]["expose"], f"{name}: {target}"


def test_the_postgresql_volume_is_what_node_exporter_measures() -> None:
    node = SERVICES["node-exporter"]
    assert "pg_data:/pg_data:ro" in node["volumes"]
    assert SERVICES["db"]["volumes"] == ["pg_data:/var/lib/postgresql/data"]
    for where, expr in expressions():
        assert set(MOUNTPOINT.findall(expr)) <= {"/pg_data"}, where


def test_the_dashboard_is_the_one_the_script_writes() -> None:
    assert make_dashboard.DASHBOARD.read_text() == make_dashboard.render(), (
        "deploy/grafana/dashboards/maratang.json is stale: run python scripts/make_dashboard.py"
    )


def test_grafana_provisions_prometheus_and_the_dashboard_folder_it_mounts() -> None:
    ((source,),) = [DATASOURCES["datasources"]]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert "9090" in SERVICES["prometheus"]["expose"]
    ((provider,),) = [PROVIDERS["providers"]]
    mounts = SERVICES["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    for panel in PANELS:
        uids = {panel["datasource"]["uid"], *(t["datasource"]["uid"] for t in panel["targets"])}
        assert uids == {source["uid"]}, panel["title"]


def test_every_panel_says_what_it_means_and_the_guide_explains_it() -> None:
    guide = section(OPERATIONS, "## Monitoring")
    titles = [panel["title"] for panel in PANELS]
    assert len(set(titles)) == len(titles)
    for panel in PANELS:
        assert len(panel["description"]) >= 40, panel["title"]
        assert panel["targets"], panel["title"]
        assert f"**{panel['title']}**" in guide, f"docs/operations.md misses {panel['title']!r}"


def test_the_panels_do_not_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in DASHBOARD["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, panel["title"]
        cells |= area


def test_the_dashboard_shows_what_an_operator_watches() -> None:
    shown = set().union(*(metric_names(expr) for _, expr in expressions() if "panel" in _))
    watched = {
        "maratang_sockets_open",  # players
        "maratang_tables",  # tables
        "maratang_frames_sent_total",  # delivery rate
        "maratang_sent_bytes_total",
        "maratang_send_queue_bytes_bucket",  # send queues
        "maratang_llm_time_to_first_token_seconds_bucket",  # narration TTFT
        "maratang_llm_time_per_output_token_seconds_bucket",  # tokens/s
        "maratang_narrations_total",  # sources
        "maratang_narration_fallbacks_total",  # fallbacks
        "vllm:kv_cache_usage_perc",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "maratang_engine_call_duration_seconds_bucket",  # engine latency
        "maratang_engine_unavailable_total",  # and errors
        "maratang_records_pending",  # records lag
        "maratang_records_retries_total",
        "maratang_records_dropped_total",
    }
    assert watched - shown == set()


@pytest.fixture(scope="module")
def exposed() -> dict[str, str]:
    """Each part's /metrics answer, by part: a real `maratang serve`, the vLLM simulator, and
    Debian's exporters given the variables and flags the compose file gives their images."""
    answers: dict[str, str] = {}
    with running_server() as server:
        answers["app"] = scrape(server.base_url + "/metrics")
    with running_sim() as sim:
        answers["vllm"] = scrape(sim.base_url + "/metrics")
    redis_env = {"REDIS_ADDR": REDIS_URL}
    with running_exporter("prometheus-redis-exporter", env=redis_env) as url:
        answers["redis"] = scrape(url)
    with running_exporter("prometheus-postgres-exporter", env=postgres_env()) as url:
        answers["postgres"] = scrape(url)
    node_flags = SERVICES["node-exporter"]["command"]
    with running_exporter("prometheus-node-exporter", node_flags) as url:
        answers["node"] = scrape(url)
    assert set(redis_env) == set(SERVICES["redis-exporter"]["environment"])
    return answers


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
