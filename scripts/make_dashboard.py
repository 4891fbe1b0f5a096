"""Writes deploy/grafana/dashboards/maratang.json, the Maratang dashboard that Grafana's
monitoring profile provisions, from the panels listed below (title, what it means, PromQL).

Run after changing a panel; tests/deploy/test_monitoring.py checks that the file matches, that
every expression names only metrics that exist, and docs/operations.md ("Monitoring") explains
every panel by its title.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "maratang.json"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
"""The data source provisioned in deploy/grafana/provisioning/datasources/prometheus.yml."""
RATE = "$__rate_interval"
WIDTH = 24
HEIGHT = 8


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    stat: bool = False
    """A single figure (Grafana's stat panel) rather than a graph over time."""
    width: int = 8
    limits: tuple[float, ...] = ()
    """Where the colour turns (amber, then red); drawn as lines on a graph. Alerts' thresholds."""
    falling: bool = False
    """The limits are floors: below them is bad (free space)."""
    mapping: dict[str, str] | None = None
    """Value texts (0 and 1 as `down` and `up`)."""


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def quantiles(
    metric: str, *by: str, ps: tuple[float, ...] = (0.5, 0.99), name: str = ""
) -> tuple[Query, ...]:
    """p50 and p99 (by default) of a histogram, over the graph's rate interval."""
    labels = ", ".join(("le", *by))
    name = name or " ".join(f"{{{{{label}}}}}" for label in by)
    return tuple(
        q(
            f"histogram_quantile({p}, sum by ({labels}) (rate({metric}_bucket[{RATE}])))",
            f"{name} p{p * 100:g}".strip(),
        )
        for p in ps
    )


def per_minute(metric: str, by: str = "", legend: str = "") -> Query:
    """A counter's rate, per minute (rare events read better per minute than per second)."""
    grouping = f" by ({by})" if by else ""
    return q(f"60 * sum{grouping} (rate({metric}[{RATE}]))", legend or f"{{{{{by}}}}}")


UP = {"0": "down", "1": "up"}
FALLBACK_SHARE = (
    f'sum(rate(maratang_narrations_total{{source!="llm"}}[{RATE}]))'
    f" / sum(rate(maratang_narrations_total[{RATE}]))"
)
PG_FREE = (
    'node_filesystem_avail_bytes{job="node", mountpoint="/pg_data"}'
    ' / node_filesystem_size_bytes{job="node", mountpoint="/pg_data"}'
)
REFUSED = f'rate(maratang_commands_total{{outcome!="ok"}}[{RATE}])'
TPOT = "maratang_llm_time_per_output_token_seconds_bucket"

OVERVIEW = (
    Panel(
        "Alerts firing",
        "How many rules of deploy/prometheus/alerts.yml fire now; 0 is good. Their names are "
        "in Grafana under Alerting > Alert rules and in Prometheus at /alerts; docs/operations.md "
        "says what to do for each.",
        (q('count(ALERTS{alertstate="firing"}) or vector(0)', "firing"),),
        stat=True,
        width=6,
        limits=(1,),
    ),
    Panel(
        "Scrape targets",
        "Whether Prometheus reached each part's /metrics at its last scrape: the app, vLLM, and "
        "the Redis, PostgreSQL and node exporters. A part that is down leaves its panels empty.",
        (q("up", "{{job}}"),),
        stat=True,
        width=10,
        limits=(1,),
        falling=True,
        mapping=UP,
    ),
    Panel(
        "Players connected",
        "WebSockets past hello, open now, summed over every worker of the app.",
        (q("sum(maratang_sockets_open) or vector(0)", "sockets"),),
        stat=True,
        width=4,
    ),
    Panel(
        "Live tables",
        "Tables in the engine now, every phase (a census taken when Prometheus scrapes).",
        (q("sum(max by (phase) (maratang_tables)) or vector(0)", "tables"),),
        stat=True,
        width=4,
    ),
)

PLAYERS = (
    Panel(
        "Sockets open by codec",
        "WebSockets past hello, open now, by codec (msgpack: the Unity and mobile clients; "
        "json: browsers and tools), summed over the app's workers.",
        (q("sum by (codec) (maratang_sockets_open)", "{{codec}}"),),
        width=6,
    ),
    Panel(
        "Tables by phase",
        "Live tables by game phase, a census of the engine when Prometheus scrapes (the same "
        "in every worker and every app node, so the maximum is shown, not a sum).",
        (q("max by (phase) (maratang_tables)", "{{phase}}"),),
        width=6,
    ),
    Panel(
        "Hellos by outcome",
        "hello messages per minute by what they became: new (a first socket), resumed (a "
        "reconnect caught up from the log), sync (a reconnect given the whole table) and "
        "refused. Many sync or refused mean resumes reach back past the kept history.",
        (per_minute("maratang_hellos_total", "outcome"),),
        unit="opm",
        width=6,
    ),
    Panel(
        "Closes by code",
        "Sockets closed per minute by close code: 1000/1001 players leaving, 4401 no valid "
        "hello, 4408 slow consumers, 4429 abuse limits, 1009 a frame too large, 1011 an "
        "internal error, 1012/1013 the server restarting or busy.",
        (per_minute("maratang_closes_total", "code"),),
        unit="opm",
        width=6,
    ),
    Panel(
        "Commands by type",
        "Commands the players' clients sent and the app handled, per second, by type.",
        (q(f"sum by (type) (rate(maratang_commands_total[{RATE}]))", "{{type}}"),),
        unit="ops",
    ),
    Panel(
        "Command errors",
        "Commands refused per minute, by type and error code (everything but ok): busy means "
        "Redis was unreachable, rate_limited a client over its limits; the rest are players "
        "acting out of turn.",
        (q(f"60 * sum by (type, outcome) ({REFUSED})", "{{type}} {{outcome}}"),),
        unit="opm",
    ),
    Panel(
        "Command latency",
        "From a command's arrival to its ack or error, p50 and p99. The line is the bots' "
        "ack SLO (250 ms); above it players feel the game lag.",
        quantiles("maratang_command_duration_seconds"),
        unit="s",
        limits=(0.25,),
    ),
)

DELIVERY = (
    Panel(
        "Frames sent",
        "Delivery rate: application frames written to sockets per second, by codec, summed "
        "over the app's workers. Narration deltas are most of them (about 25 a second per "
        "player while a narration streams).",
        (q(f"sum by (codec) (rate(maratang_frames_sent_total[{RATE}]))", "{{codec}}"),),
        unit="ops",
        width=6,
    ),
    Panel(
        "Bytes sent",
        "Delivery rate in bytes: the size of those frames per second, by codec.",
        (q(f"sum by (codec) (rate(maratang_sent_bytes_total[{RATE}]))", "{{codec}}"),),
        unit="Bps",
        width=6,
    ),
    Panel(
        "Send queues",
        "Bytes waiting in one socket's send queue, sampled for every socket about once a "
        "second: p50 and p99. Near 0 is healthy; near MARATANG_SEND_QUEUE_BYTES (256 KiB) a "
        "socket is about to be closed as a slow consumer.",
        quantiles("maratang_send_queue_bytes"),
        unit="bytes",
        width=6,
    ),
    Panel(
        "Slow-consumer closes",
        "Sockets closed 4408 per minute: queue (its queue overflowed) or stall (it took no "
        "byte for MARATANG_SEND_STALL_SECONDS). The alert fires above 10 in 5 minutes and 1 % "
        "of the sockets.",
        (per_minute("maratang_slow_consumer_closes_total", "reason"),),
        unit="opm",
        width=6,
    ),
)

NARRATION = (
    Panel(
        "Narrations by source",
        "Narrations told per minute: llm (the model told all of it), fallback (the templates "
        "told all of it), mixed (the model began, the templates finished).",
        (per_minute("maratang_narrations_total", "source"),),
        unit="opm",
    ),
    Panel(
        "Fallback share",
        "The share of narrations told wholly or partly by the templates. The alert fires "
        "above 20 % for 10 minutes.",
        (q(FALLBACK_SHARE, "fallback or mixed"),),
        unit="percentunit",
        limits=(0.1, 0.2),
    ),
    Panel(
        "Fallbacks by reason",
        "Narrations (or their rest) handed to the templates per minute, by reason: busy (no "
        "model slot within MARATANG_LLM_QUEUE_SECONDS), unavailable (every model server's "
        "breaker open), connect, refused, error, dropped, the first_token, stall and total "
        "budgets, empty, moderated (the model's text failed a check), resumed; and model "
        "streams that stalled.",
        (
            per_minute("maratang_narration_fallbacks_total", "reason"),
            q(f"60 * sum(rate(maratang_llm_stalls_total[{RATE}]))", "stalls"),
        ),
        unit="opm",
    ),
    Panel(
        "Narration checks",
        "Per minute: model narrations whose text failed a check before players saw it "
        "(words, guard, tasting; the templates told the rest, reason moderated), placeholders "
        "dropped as unknown or malformed, and narrations asked to be shorter because many "
        "waited for a model slot (by the share asked).",
        (
            per_minute("maratang_narration_checks_failed_total", "check"),
            per_minute("maratang_narration_placeholders_dropped_total", "why"),
            per_minute("maratang_narrations_shortened_total", "step"),
        ),
        unit="opm",
    ),
    Panel(
        "Time to first token",
        "Narration TTFT: from the model request to its first text, p50 and p99. The line is "
        "the alert's 2 s; past MARATANG_LLM_FIRST_TOKEN_SECONDS (4 s) the templates take over.",
        quantiles("maratang_llm_time_to_first_token_seconds"),
        unit="s",
        limits=(1, 2),
        width=6,
    ),
    Panel(
        "Tokens per second",
        "Decode speed of finished model streams (1 / time per output token): the median "
        "stream and the slowest 1 %. Players read comfortably above about 15 tokens a second.",
        (
            q(f"1 / histogram_quantile(0.5, sum by (le) (rate({TPOT}[{RATE}])))", "median"),
            q(f"1 / histogram_quantile(0.99, sum by (le) (rate({TPOT}[{RATE}])))", "slowest 1 %"),
        ),
        unit="suffix: tok/s",
        width=6,
    ),
    Panel(
        "Model requests and slots",
        "Model requests streaming now, and narrations waiting for a model slot "
        "(MARATANG_LLM_SLOTS per model server, shared by every process). Waiting narrations "
        "fall back after MARATANG_LLM_QUEUE_SECONDS.",
        (
            q("sum(maratang_llm_requests_in_flight)", "in flight"),
            q("sum(maratang_llm_narrations_waiting)", "waiting for a slot"),
        ),
        width=6,
    ),
    Panel(
        "Breaker per model server",
        "1 while the app keeps requests from a model server (its breaker is open or probing "
        "after failures in a row), else 0.",
        (q("max by (endpoint) (maratang_llm_breaker_open)", "{{endpoint}}"),),
        mapping={"0": "closed", "1": "open"},
        width=6,
    ),
)

VLLM = (
    Panel(
        "vLLM KV-cache use",
        "The share of vLLM's KV cache in use (1 = full). Near full, vLLM preempts requests "
        "and time to first token grows: lower MARATANG_LLM_SLOTS.",
        (q("max by (instance) (vllm:kv_cache_usage_perc)", "{{instance}}"),),
        unit="percentunit",
        limits=(0.8, 0.95),
    ),
    Panel(
        "vLLM requests running and waiting",
        "Requests in vLLM's running batch, and requests queued inside vLLM. Any waiting "
        "means the app asks for more than the GPU holds (MARATANG_LLM_SLOTS above vLLM's "
        "--max-num-seqs or its KV cache).",
        (
            q("sum(vllm:num_requests_running)", "running"),
            q("sum(vllm:num_requests_waiting)", "waiting"),
        ),
    ),
    Panel(
        "vLLM latency",
        "vLLM's own view: time to first token and time between tokens, p99. Compare with "
        "the app's time to first token: the difference is the network and the app.",
        (
            *quantiles("vllm:time_to_first_token_seconds", ps=(0.99,), name="first token"),
            *quantiles("vllm:inter_token_latency_seconds", ps=(0.99,), name="between tokens"),
        ),
        unit="s",
    ),
    Panel(
        "vLLM throughput",
        "Tokens generated per second across every request, and prompt tokens read.",
        (
            q(f"sum(rate(vllm:generation_tokens_total[{RATE}]))", "generated"),
            q(f"sum(rate(vllm:prompt_tokens_total[{RATE}]))", "prompt"),
        ),
        unit="suffix: tok/s",
        width=12,
    ),
    Panel(
        "vLLM preemptions",
        "Requests vLLM evicted from the batch per minute to make KV-cache room (they are "
        "recomputed, and their text pauses). Steady preemptions: lower MARATANG_LLM_SLOTS.",
        (per_minute("vllm:num_preemptions_total", legend="preemptions"),),
        unit="opm",
        width=12,
    ),
)

ENGINE = (
    Panel(
        "Engine call latency",
        "The p99 of the engine's calls (Redis round trips and scripts) by operation. A few "
        "milliseconds is normal; tens mean Redis is loaded or far away.",
        quantiles("maratang_engine_call_duration_seconds", "operation", ps=(0.99,)),
        unit="s",
    ),
    Panel(
        "Engine errors",
        "Engine calls per minute that failed because Redis was unreachable, by operation. "
        "Any of them means commands were answered busy.",
        (per_minute("maratang_engine_unavailable_total", "operation"),),
        unit="opm",
    ),
    Panel(
        "Tables restored",
        "Lost tables per minute brought back from their PostgreSQL snapshot (restored) or "
        "found gone without one (gone): Redis lost data.",
        (per_minute("maratang_restores_total", "outcome"),),
        unit="opm",
    ),
    Panel(
        "Redis memory",
        "Memory Redis uses for live tables, their logs and presence (from redis-exporter).",
        (q("redis_memory_used_bytes", "used"),),
        unit="bytes",
        width=12,
    ),
    Panel(
        "Redis commands",
        "Commands Redis executes per second (from redis-exporter).",
        (q(f"sum(rate(redis_commands_processed_total[{RATE}]))", "commands"),),
        unit="ops",
        width=12,
    ),
)

RECORDS = (
    Panel(
        "Records pending",
        "Records lag: record writes (game records, snapshots) waiting for PostgreSQL. Near 0 "
        "is healthy; the alert fires above 100 for 5 minutes; past MARATANG_RECORDS_QUEUE "
        "(10,000) new ones are dropped.",
        (q("sum(maratang_records_pending)", "pending"),),
        limits=(50, 100),
        width=6,
    ),
    Panel(
        "Records written, retried, dropped",
        "Record writes per minute: stored, attempts that failed because PostgreSQL was "
        "unreachable (retried with backoff), and writes given up (lost).",
        (
            per_minute("maratang_records_written_total", legend="written"),
            per_minute("maratang_records_retries_total", legend="retried"),
            per_minute("maratang_records_dropped_total", legend="dropped"),
        ),
        unit="opm",
        width=6,
    ),
    Panel(
        "PostgreSQL volume free",
        "Free space on the file system of the pg_data volume (node-exporter). The alerts fire "
        "under 25 % when it would be full within a day, and under 10 %.",
        (q(PG_FREE, "free"),),
        unit="percentunit",
        limits=(0.25, 0.1),
        falling=True,
        width=6,
    ),
    Panel(
        "PostgreSQL database size",
        "The size of the maratang database on disk (from postgres-exporter).",
        (q('pg_database_size_bytes{datname="maratang"}', "maratang"),),
        unit="bytes",
        width=6,
    ),
)

ROWS = (
    ("Overview", OVERVIEW),
    ("Players and tables", PLAYERS),
    ("Delivery", DELIVERY),
    ("Narration", NARRATION),
    ("vLLM", VLLM),
    ("Engine and Redis", ENGINE),
    ("Records", RECORDS),
)


def dashboard() -> dict[str, Any]:
    """The dashboard's JSON model: one row per part, its panels laid out left to right."""
    panels: list[dict[str, Any]] = []
    y = 0
    for title, row in ROWS:
        panels.append(_row(title, len(panels) + 1, y))
        y += 1
        x = 0
        for panel in row:
            if x + panel.width > WIDTH:
                x, y = 0, y + HEIGHT
            panels.append(
                _panel(panel, len(panels) + 1, {"h": HEIGHT, "w": panel.width, "x": x, "y": y})
            )
            x += panel.width
        y += HEIGHT
    return {
        "uid": "maratang",
        "title": "Maratang",
        "description": "Players, delivery, narration, vLLM, the engine and records of one "
        "Maratang deployment. docs/operations.md (Monitoring) explains every panel.",
        "tags": ["maratang"],
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-3h", "to": "now"},
        "timezone": "browser",
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
        "version": 1,
    }


def _row(title: str, id_: int, y: int) -> dict[str, Any]:
    grid = {"h": 1, "w": WIDTH, "x": 0, "y": y}
    return {
        "id": id_,
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": grid,
        "panels": [],
    }


def _panel(panel: Panel, id_: int, grid: dict[str, int]) -> dict[str, Any]:
    targets = [
        {
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "expr": query.expr,
            "legendFormat": query.legend or "__auto",
            "range": True,
        }
        for i, query in enumerate(panel.queries)
    ]
    return {
        "id": id_,
        "type": "stat" if panel.stat else "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "targets": targets,
        "fieldConfig": {"defaults": _field(panel), "overrides": []},
        "options": _stat_options() if panel.stat else _graph_options(),
    }


def _field(panel: Panel) -> dict[str, Any]:
    field: dict[str, Any] = {"unit": panel.unit, "thresholds": _thresholds(panel)}
    if panel.mapping:
        texts = {
            value: {"text": text, "index": i}
            for i, (value, text) in enumerate(panel.mapping.items())
        }
        field["mappings"] = [{"type": "value", "options": texts}]
    if not panel.stat:
        style = "line" if panel.limits else "off"
        field["custom"] = {
            "drawStyle": "line",
            "fillOpacity": 10,
            "thresholdsStyle": {"mode": style},
        }
    return field


def _thresholds(panel: Panel) -> dict[str, Any]:
    """Green to red as the value rises past the limits (red to green for floors)."""
    palette = ("red", "orange", "green") if panel.falling else ("green", "orange", "red")
    levels = sorted(panel.limits)
    colours = palette if len(levels) == 2 else (palette[0], palette[2])[: len(levels) + 1]
    steps: list[dict[str, Any]] = [{"color": colours[0], "value": None}]
    steps += [{"color": c, "value": v} for c, v in zip(colours[1:], levels, strict=True)]
    return {"mode": "absolute", "steps": steps}


def _stat_options() -> dict[str, Any]:
    return {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "value_and_name",
    }


def _graph_options() -> dict[str, Any]:
    return {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    DASHBOARD.write_text(render())
    print(f"wrote {DASHBOARD.relative_to(ROOT)}")
