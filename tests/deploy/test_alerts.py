"""Prometheus's configuration and alert rules (deploy/prometheus/): promtool accepts them,
every alert fires past its threshold and not before (tests/deploy/alerts_test.yml), says how
bad it is and has its runbook line, and names only jobs and volumes that exist."""

from __future__ import annotations

import re

import yaml

from tests.support.monitoring import (
    ALERTS,
    JOBS,
    OPERATIONS,
    SERVICES,
    expressions,
    promtool,
    section,
)
from tests.support.server import ROOT

ALERT_TESTS = yaml.safe_load((ROOT / "tests" / "deploy" / "alerts_test.yml").read_text())
JOB_MATCHER = re.compile(r'job\s*(=~|=)\s*"([^"]*)"')
MOUNTPOINT = re.compile(r'mountpoint\s*=\s*"([^"]*)"')


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


def test_the_expressions_name_only_scrape_jobs_that_exist() -> None:
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
    assert "pg_data:/pg_data:ro" in SERVICES["node-exporter"]["volumes"]
    assert SERVICES["db"]["volumes"] == ["pg_data:/var/lib/postgresql/data"]
    for where, expr in expressions():
        assert set(MOUNTPOINT.findall(expr)) <= {"/pg_data"}, where
