"""The PromQL reader that the monitoring tests rely on (tests/support/promql.py): it finds every
metric an expression selects and nothing else."""

from __future__ import annotations

import pytest

from tests.support.promql import PromQLError, exposed_names, metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('up{job="vllm"} == 0', {"up"}),
        ("vllm:kv_cache_usage_perc", {"vllm:kv_cache_usage_perc"}),
        (
            "histogram_quantile(0.99, sum by (le, operation) (rate(x_bucket[$__rate_interval])))",
            {"x_bucket"},
        ),
        ("sum(rate(a_total[5m])) by (job) / ignoring(job) group_left(le) b", {"a_total", "b"}),
        ("sum without (instance, codec) (a) and on (job) b unless c or d", {"a", "b", "c", "d"}),
        ('count(ALERTS{alertstate="firing"}) or vector(0)', {"ALERTS"}),
        ("predict_linear(a[6h], 86400) < 0 and b offset 1h30m > bool 1e3", {"a", "b"}),
        ('label_replace(a, "dst", "$1 by sum", "src", "(.*)")', {"a"}),
        ("max_over_time(deriv(sum(a)[10m:1m])[1h:]) > Inf", {"a"}),
        ('{__name__="a_total", job="x"} + {job="y"}', {"a_total"}),
        ("topk(5, a) # the biggest\n + b", {"a", "b"}),
        ('a{le="+Inf", by="on"} @ 1609746000', {"a"}),
        ('1 / histogram_quantile(0.5, sum by (le) (rate(t_bucket{a=~"x|y"}[${w}])))', {"t_bucket"}),
    ],
)
def test_every_selected_metric_and_nothing_else_is_found(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("expr", ['{__name__=~"maratang_.*"}', "sum(rate(a[5m]", "a ; b"])
def test_what_it_cannot_read_is_an_error_not_a_guess(expr: str) -> None:
    with pytest.raises(PromQLError):
        metric_names(expr)


def test_the_names_a_metrics_answer_offers_include_families_without_samples() -> None:
    text = "\n".join(
        [
            "# HELP maratang_hellos hellos",
            "# TYPE maratang_hellos counter",
            "# TYPE redis_commands_processed_total counter",
            "redis_commands_processed_total 12",
            "# TYPE maratang_llm_time_to_first_token_seconds histogram",
            "# TYPE vllm:num_requests_running gauge",
            'vllm:num_requests_running{model_name="kanana"} 3',
            "process_start_time_seconds 1.7e9",
        ]
    )
    assert exposed_names(text) == {
        "maratang_hellos_total",
        "redis_commands_processed_total",
        "maratang_llm_time_to_first_token_seconds_bucket",
        "maratang_llm_time_to_first_token_seconds_sum",
        "maratang_llm_time_to_first_token_seconds_count",
        "vllm:num_requests_running",
        "process_start_time_seconds",
    }
