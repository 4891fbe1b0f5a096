"""The Grafana dashboard (deploy/grafana/): written by scripts/make_dashboard.py, provisioned
with the Prometheus data source it reads, laid out without overlaps, every panel saying what it
means and explained in docs/operations.md, and showing what an operator watches."""

from __future__ import annotations

import yaml

from scripts import make_dashboard
from tests.support.monitoring import (
    DASHBOARD,
    GRAFANA,
    OPERATIONS,
    PANELS,
    SERVICES,
    panel_expressions,
    section,
)
from tests.support.promql import metric_names

PROVISIONING = GRAFANA / "provisioning"


def test_the_dashboard_is_the_one_the_script_writes() -> None:
    assert make_dashboard.DASHBOARD.read_text() == make_dashboard.render(), (
        "deploy/grafana/dashboards/maratang.json is stale: run python scripts/make_dashboard.py"
    )


def test_grafana_provisions_prometheus_and_the_dashboard_folder_it_mounts() -> None:
    sources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    ((source,),) = [sources["datasources"]]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert "9090" in SERVICES["prometheus"]["expose"]
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "maratang.yml").read_text())
    ((provider,),) = [providers["providers"]]
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
    shown = set().union(*(metric_names(expr) for _, expr in panel_expressions()))
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
