"""The simulator's `/metrics`: vLLM's own names, help texts, types, labels (`model_name`,
`engine`) and buckets (vLLM 0.33, `vllm/v1/metrics/loggers.py`), served by prometheus-client
from a registry of the simulator's own, so that dashboards and alert rules written for vLLM
can be tried against it. Counts and gauges are read from the simulator's `Stats` when
scraped; latencies are observed as they happen."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from llm.sim_config import SimConfig, Stats

LABELS = ("model_name", "engine")
ENGINE = "0"
TTFT_BUCKETS = (
    *(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75),
    *(1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0),
)
ITL_BUCKETS = (
    *(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75),
    *(1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0),
)
E2E_BUCKETS = (
    *(0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0),
    *(120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0),
)


class SimMetrics:
    def __init__(self, stats: Stats, config: Callable[[], SimConfig]) -> None:
        self.registry = CollectorRegistry()
        self._config = config
        self._ttft = Histogram(
            "vllm:time_to_first_token_seconds",
            "Histogram of time to first token in seconds.",
            LABELS,
            buckets=TTFT_BUCKETS,
            registry=self.registry,
        )
        self._itl = Histogram(
            "vllm:inter_token_latency_seconds",
            "Histogram of inter-token latency in seconds.",
            LABELS,
            buckets=ITL_BUCKETS,
            registry=self.registry,
        )
        self._e2e = Histogram(
            "vllm:e2e_request_latency_seconds",
            "Histogram of e2e request latency in seconds.",
            LABELS,
            buckets=E2E_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StatsCollector(stats, config))

    def first_token(self, seconds: float) -> None:
        self._ttft.labels(self._config().model, ENGINE).observe(seconds)

    def between_tokens(self, seconds: float, tokens: int) -> None:
        """A chunk of `tokens` tokens came `seconds` after the one before: each token's
        latency is observed."""
        child = self._itl.labels(self._config().model, ENGINE)
        for _ in range(tokens):
            child.observe(seconds / tokens)

    def finished(self, seconds: float) -> None:
        """A request ended `seconds` after it arrived."""
        self._e2e.labels(self._config().model, ENGINE).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StatsCollector(Collector):
    """The counters and gauges, read from the simulator's `Stats` at each scrape."""

    def __init__(self, stats: Stats, config: Callable[[], SimConfig]) -> None:
        self._stats = stats
        self._config = config

    def collect(self) -> Iterator[Metric]:
        stats, config = self._stats, self._config()
        labels = [config.model, ENGINE]

        def gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, text, labels=LABELS)
            family.add_metric(labels, value)
            return family

        def counter(name: str, text: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(name, text, labels=LABELS)
            family.add_metric(labels, value)
            return family

        yield gauge(
            "vllm:num_requests_running",
            "Number of requests in model execution batches.",
            stats.running,
        )
        yield gauge(
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            stats.waiting,
        )
        yield gauge(
            "vllm:kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            stats.running / config.max_num_seqs,
        )
        yield counter(
            "vllm:prompt_tokens", "Number of prefill tokens processed.", stats.prompt_tokens
        )
        yield counter(
            "vllm:generation_tokens",
            "Number of generation tokens processed.",
            stats.generation_tokens,
        )
        yield counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", 0)
        success = CounterMetricFamily(
            "vllm:request_success",
            "Count of successfully processed requests.",
            labels=(*LABELS, "finished_reason"),
        )
        for reason, count in sorted(stats.finished.items()):
            success.add_metric([*labels, reason], count)
        yield success
