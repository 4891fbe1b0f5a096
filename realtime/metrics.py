"""The server's Prometheus metrics: every one is defined here and served at `GET /metrics`
(docs/operations.md, "Metrics", lists them). `Metrics` implements the observers that
`storage/` and `llm/` report through, so neither imports this module.

One process: the metrics are served from `Metrics.registry`. Several uvicorn workers:
`maratang serve` gives them a directory of their own (`realtime.multiprocess`) in
`PROMETHEUS_MULTIPROC_DIR`, which prometheus-client reads when it is first imported (in each
worker, after the supervisor set it). Each worker then writes its values to files there, and
the worker that answers a scrape sums every worker's files (`MultiProcessCollector`). Gauges
of what is open or in flight are `livesum` (`livemax` for the breaker): before each scrape the
files of workers that are gone are marked dead, so a worker killed and replaced takes its
sockets with it. Its counters and histograms stay counted, as Prometheus expects of a counter.

Two things are not written to the files. The census of tables (`realtime.census`) reads the
engine, which every worker shares: the worker that answers the scrape takes it (not summed).
And the hot path's counts: a socket counts the frames and bytes it writes in plain integers
(`Outbox.take_sent`), moved into the counters by the socket watchdog about once a second and
when the socket closes, so fan-out makes no prometheus call per frame per socket.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from protocol import Codec
from protocol.errors import CloseCode
from protocol.messages import CLIENT_MESSAGES
from protocol.types import NarrationSource, Phase
from realtime.connection import Connection
from realtime.multiprocess import MULTIPROC, bury_dead_workers

PHASES: tuple[Phase, ...] = get_args(Phase)
CODECS = ("json", "msgpack")
CLOSE_CODES = frozenset(str(int(code)) for code in CloseCode)
COMMANDS = frozenset(CLIENT_MESSAGES)
QUEUE_BUCKETS = (0, 1024, 4096, 16384, 65536, 131072, 262144, 524288, 1048576)
COMMAND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ENGINE_BUCKETS = (
    *(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
    *(0.25, 0.5, 1.0, 2.5, 5.0),
)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
TOKEN_BUCKETS = (
    *(0.005, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.033, 0.05, 0.075, 0.1),
    *(0.15, 0.2, 0.3, 0.5, 1.0),
)
"""Seconds per token: 200 tokens/s down to 1."""

# No `_created` series: one worker serves the series that several do (their files have none).
disable_created_metrics()  # type: ignore[no-untyped-call]


def codec_name(codec: Codec) -> str:
    """`json` or `msgpack`: the last part of the codec's subprotocol."""
    return codec.subprotocol.rpartition(".")[2]


def command_type(data: object) -> str:
    """A received frame's `t` when the protocol names such a command, else `other`."""
    t = data.get("t") if isinstance(data, Mapping) else None
    return t if isinstance(t, str) and t in COMMANDS else "other"


class Metrics:
    """This process's metrics, and the observers `storage/` and `llm/` report through."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self._directory = os.environ.get(MULTIPROC)
        """Where every worker writes its values (None: one process, served from `registry`)."""
        self.sockets_open = Gauge(
            "maratang_sockets_open",
            "WebSockets past hello, open now, by codec",
            ["codec"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.hellos = Counter(
            "maratang_hellos_total", "hellos by what they became", ["outcome"], registry=r
        )
        self.closes = Counter(
            "maratang_closes_total", "sockets closed, by close code", ["code"], registry=r
        )
        self.frames_sent = Counter(
            "maratang_frames_sent_total",
            "application frames written to sockets",
            ["codec"],
            registry=r,
        )
        self.sent_bytes = Counter(
            "maratang_sent_bytes_total",
            "bytes of the frames written to sockets",
            ["codec"],
            registry=r,
        )
        self.send_queue = Histogram(
            "maratang_send_queue_bytes",
            "bytes waiting in one socket's send queue, sampled for every socket each second",
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self.slow_consumer_closes = Counter(
            "maratang_slow_consumer_closes_total",
            "sockets closed 4408 as slow consumers: queue (full) or stall (took no byte)",
            ["reason"],
            registry=r,
        )
        self.commands = Counter(
            "maratang_commands_total",
            "commands handled, by type and outcome (ok, or the error code)",
            ["type", "outcome"],
            registry=r,
        )
        self.command_duration = Histogram(
            "maratang_command_duration_seconds",
            "seconds from a command's arrival to its ack or error",
            ["type"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self.restores = Counter(
            "maratang_restores_total",
            "lost tables brought back from a snapshot (restored), or found gone",
            ["outcome"],
            registry=r,
        )
        self._define_narration()
        self._define_storage()
        self._start_at_zero()
        self._census = _Census()
        self._served = self._serving_registry()

    def _define_narration(self) -> None:
        r = self.registry
        self.narrations = Counter(
            "maratang_narrations_total", "narrations told, by source", ["source"], registry=r
        )
        self.fallbacks = Counter(
            "maratang_narration_fallbacks_total",
            "narrations (or their rest) handed to the fallback, by reason",
            ["reason"],
            registry=r,
        )
        self.ttft = Histogram(
            "maratang_llm_time_to_first_token_seconds",
            "seconds from a model request to its first text",
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.tpot = Histogram(
            "maratang_llm_time_per_output_token_seconds",
            "per finished model stream: seconds after the first token per token after it",
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.stalls = Counter(
            "maratang_llm_stalls_total",
            "model streams stopped because their text stopped coming",
            registry=r,
        )
        self.checks_failed = Counter(
            "maratang_narration_checks_failed_total",
            "model narrations whose text failed a check (words, guard, tasting) and was "
            "finished by the fallback",
            ["check"],
            registry=r,
        )
        self.guard_misses = Counter(
            "maratang_narration_guard_unanswered_total",
            "sentences the guard model gave no verdict on in time",
            registry=r,
        )
        self.placeholders_dropped = Counter(
            "maratang_narration_placeholders_dropped_total",
            "placeholders in narration text dropped, as unknown or malformed",
            ["why"],
            registry=r,
        )
        self.in_flight = Gauge(
            "maratang_llm_requests_in_flight",
            "model requests streaming now",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.waiting = Gauge(
            "maratang_llm_narrations_waiting",
            "narrations waiting for a model slot",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.shortened_narrations = Counter(
            "maratang_narrations_shortened_total",
            "narrations that asked for a share of their tokens (step) because many waited",
            ["step"],
            registry=r,
        )
        self.breaker_open = Gauge(
            "maratang_llm_breaker_open",
            "1 while the breaker keeps requests from the model server (open or probing)",
            ["endpoint"],
            registry=r,
            multiprocess_mode="livemax",
        )

    def _define_storage(self) -> None:
        r = self.registry
        self.engine_duration = Histogram(
            "maratang_engine_call_duration_seconds",
            "seconds engine calls took, by engine method",
            ["operation"],
            buckets=ENGINE_BUCKETS,
            registry=r,
        )
        self._engine_calls: dict[str, Histogram] = {}
        self.engine_unavailable_total = Counter(
            "maratang_engine_unavailable_total",
            "engine calls that found the store unreachable, by engine method",
            ["operation"],
            registry=r,
        )
        self.engine_unreplicated_total = Counter(
            "maratang_engine_unreplicated_total",
            "writes that stood without the replicas they waited for (MARATANG_REDIS_REPLICAS)",
            ["operation"],
            registry=r,
        )
        self.pending = Gauge(
            "maratang_records_pending",
            "record writes waiting for the database",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.written = Counter("maratang_records_written_total", "record writes stored", registry=r)
        self.dropped = Counter(
            "maratang_records_dropped_total", "record writes given up", registry=r
        )
        self.retries = Counter(
            "maratang_records_retries_total",
            "record write attempts that failed because the database was unreachable",
            registry=r,
        )

    def _start_at_zero(self) -> None:
        """The label values known in advance are served from the start (at 0), so a rate
        over them is defined before the first event."""
        for codec in CODECS:
            for metric in (self.sockets_open, self.frames_sent, self.sent_bytes):
                metric.labels(codec)
        for outcome in ("new", "resumed", "sync", "refused"):
            self.hellos.labels(outcome)
        for reason in ("queue", "stall"):
            self.slow_consumer_closes.labels(reason)
        for source in get_args(NarrationSource):
            self.narrations.labels(source)
        for check in ("words", "guard", "tasting"):
            self.checks_failed.labels(check)
        for outcome in ("restored", "gone"):
            self.restores.labels(outcome)

    def _serving_registry(self) -> CollectorRegistry:
        """What a scrape reads: this process's registry, or every worker's files."""
        if self._directory is None:
            self.registry.register(self._census)
            return self.registry
        served = CollectorRegistry()
        MultiProcessCollector(served, self._directory)  # type: ignore[no-untyped-call]
        served.register(self._census)
        return served

    # Serving ------------------------------------------------------------------------------

    def exposition(self, tables: Mapping[str, int] | None) -> bytes:
        """The text a scrape gets; `tables` is the census by phase (None: the engine could
        not be read, and `maratang_tables` is left out)."""
        self._census.tables = tables
        if self._directory is not None:
            bury_dead_workers(Path(self._directory))
        return generate_latest(self._served)

    # Sockets ------------------------------------------------------------------------------

    def hello(self, outcome: str) -> None:
        """A hello became `new`, `resumed`, `sync` (resumed with a full state) or `refused`."""
        self.hellos.labels(outcome).inc()

    def hello_refused(self, codec: Codec, sent: int | None) -> None:
        """A hello refused and its socket closed 4401; `sent`: the bytes of the error frame
        written first (None when it could not be)."""
        self.hello("refused")
        self.closed(CloseCode.UNAUTHORIZED)
        if sent is not None:
            self.frames_sent.labels(codec_name(codec)).inc()
            self.sent_bytes.labels(codec_name(codec)).inc(sent)

    def closed(self, code: int | None) -> None:
        """A socket closed with `code` (None: with none known)."""
        name = str(code)
        self.closes.labels(name if name in CLOSE_CODES else "other").inc()

    def socket_opened(self, conn: Connection) -> None:
        self.sockets_open.labels(codec_name(conn.codec)).inc()

    def socket_closed(self, conn: Connection) -> None:
        """Once a socket past its hello is gone (its writer stopped)."""
        codec = codec_name(conn.codec)
        self.sockets_open.labels(codec).dec()
        self.closed(conn.close_code)
        if conn.slow is not None:
            self.slow_consumer_closes.labels(conn.slow).inc()
        self._count_sent({codec: conn.take_sent()})

    def sample_sockets(self, sockets: Iterable[Connection]) -> None:
        """About once a second (the watchdog): each socket's waiting bytes, and the frames and
        bytes each wrote since the last look."""
        sent: dict[str, tuple[int, int]] = {}
        for conn in sockets:
            self.send_queue.observe(conn.queued_bytes)
            frames, size = conn.take_sent()
            if frames:
                codec = codec_name(conn.codec)
                before = sent.get(codec, (0, 0))
                sent[codec] = (before[0] + frames, before[1] + size)
        self._count_sent(sent)

    def _count_sent(self, sent: Mapping[str, tuple[int, int]]) -> None:
        for codec, (frames, size) in sent.items():
            if frames:
                self.frames_sent.labels(codec).inc(frames)
                self.sent_bytes.labels(codec).inc(size)

    # Commands and tables ------------------------------------------------------------------

    def command(self, kind: str, outcome: str, seconds: float) -> None:
        """A command of type `kind` (`command_type`) answered with `outcome`."""
        self.commands.labels(kind, outcome).inc()
        self.command_duration.labels(kind).observe(seconds)

    def restore(self, outcome: str) -> None:
        """A lost table was `restored` from its snapshot, or found `gone`."""
        self.restores.labels(outcome).inc()

    def narration_told(self, source: NarrationSource) -> None:
        self.narrations.labels(source).inc()

    # llm.observe.NarrationObserver --------------------------------------------------------

    def fallback(self, reason: str) -> None:
        self.fallbacks.labels(reason).inc()

    def stalled(self) -> None:
        self.stalls.inc()

    def check_failed(self, check: str) -> None:
        self.checks_failed.labels(check).inc()

    def guard_unanswered(self) -> None:
        self.guard_misses.inc()

    def placeholder_dropped(self, why: str) -> None:
        self.placeholders_dropped.labels(why).inc()

    def first_token(self, seconds: float) -> None:
        self.ttft.observe(seconds)

    def time_per_output_token(self, seconds: float) -> None:
        self.tpot.observe(seconds)

    def requests_in_flight(self, change: int) -> None:
        self.in_flight.inc(change)

    def narrations_waiting(self, change: int) -> None:
        self.waiting.inc(change)

    def shortened(self, step: str) -> None:
        self.shortened_narrations.labels(step).inc()

    def breaker(self, endpoint: str, blocking: bool) -> None:
        self.breaker_open.labels(endpoint).set(int(blocking))

    # storage.observe.EngineObserver and RecordsObserver -----------------------------------

    def engine_call(self, operation: str, seconds: float) -> None:
        timed = self._engine_calls.get(operation)  # half the cost of `labels` each call
        if timed is None:
            timed = self._engine_calls[operation] = self.engine_duration.labels(operation)
        timed.observe(seconds)

    def engine_unavailable(self, operation: str) -> None:
        self.engine_unavailable_total.labels(operation).inc()

    def engine_unreplicated(self, operation: str, count: int) -> None:
        self.engine_unreplicated_total.labels(operation).inc(count)

    def records_pending(self, count: int) -> None:
        self.pending.set(count)

    def records_written(self, count: int) -> None:
        self.written.inc(count)

    def records_dropped(self, count: int) -> None:
        self.dropped.inc(count)

    def records_retried(self) -> None:
        self.retries.inc()


class _Census(Collector):
    """`maratang_tables`, from the census the scraping worker took."""

    def __init__(self) -> None:
        self.tables: Mapping[str, int] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.tables is None:
            return
        family = GaugeMetricFamily(
            "maratang_tables", "live tables by phase (a census of the engine)", labels=["phase"]
        )
        for phase in PHASES:
            family.add_metric([phase], self.tables.get(phase, 0))
        yield family
