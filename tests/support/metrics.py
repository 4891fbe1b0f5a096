"""Reading metrics in tests: from a `Metrics` in this process, or from what a server's
`/metrics` answered (parsed by prometheus-client's own parser)."""

from __future__ import annotations

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from realtime.metrics import Metrics


def value(metrics: Metrics, name: str, **labels: str) -> float:
    """The sample `name` with exactly `labels` (0 when there is none)."""
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def by_label(metrics: Metrics, name: str, label: str) -> dict[str, float]:
    """The samples of `name` that are not 0, by the value of their `label`."""
    return {
        sample.labels[label]: sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == name and sample.value
    }


def families(text: str) -> dict[str, Metric]:
    """An exposition's metric families by name (a counter's without `_total`)."""
    return {family.name: family for family in text_string_to_metric_families(text)}


async def scrape(base_url: str) -> dict[str, Metric]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{base_url}/metrics")
    assert answer.status_code == 200, answer.text
    return families(answer.text)


SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def total(found: dict[str, Metric], name: str, **labels: str) -> float:
    """The sum of the samples `name` (`x_total`, `x_count`...) whose labels include `labels`
    (0 when there is none)."""
    family = next((found[f] for f in _families_of(name) if f in found), None)
    return sum(
        sample.value
        for sample in (family.samples if family is not None else ())
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def _families_of(name: str) -> list[str]:
    return [name, *(name.removesuffix(s) for s in SUFFIXES if name.endswith(s))]
