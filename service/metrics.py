"""Prometheus metrics of one app: requests, latency, suppliers scored by band, model version.

Each app has its own registry, so several apps (tests) never share counters. With several
uvicorn workers each worker counts its own requests; Prometheus sums them per scrape target.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds; fine below 2 ms, where a single score should answer."""


class RequestStats:
    """Request counts and latency histograms as plain numbers, exported at scrape time.

    prometheus_client's Counter and Histogram take a lock and walk the buckets on every
    observation; these are updated only on the event loop's thread, so a list index and an
    addition are enough, and the Prometheus samples are built when /metrics is scraped.
    """

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (route, method, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self.buckets.get(route)
        if counts is None:
            counts = self.buckets[route] = [0] * (len(LATENCY_BUCKETS) + 1)
            self.sums[route] = 0.0
        counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # bucket i: seconds <= bound i
        self.sums[route] += seconds

    def collect(self) -> Iterator[Metric]:
        """Yield the Prometheus samples."""
        requests = CounterMetricFamily(
            "supplier_risk_http_requests",
            "HTTP requests answered, by route, method and status",
            labels=["route", "method", "status"],
        )
        for (route, method, status), count in sorted(self.requests.items()):
            requests.add_metric([route, method, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "supplier_risk_http_request_duration_seconds",
            "time from request to the end of the response, by route",
            labels=["route"],
        )
        for route, counts in sorted(self.buckets.items()):
            cumulative, total = [], 0
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                total += count
                cumulative.append(("+Inf" if bound == float("inf") else repr(bound), total))
            latency.add_metric([route], cumulative, self.sums[route])
        yield latency


class Metrics:
    """The service's metrics, with label children cached for the hot path."""

    def __init__(self) -> None:
        # A *_created series per counter doubles what every scrape stores, for a start time
        # that process_start_time_seconds already gives; the README lists only the series that
        # count. A process-wide switch: thrown by the app factory, not by importing this module.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        # The worker's own CPU, memory, open files and start time, as every exporter gives.
        ProcessCollector(registry=self.registry)
        self.stats = RequestStats()
        self.registry.register(self.stats)
        self.scored = Counter(
            "supplier_risk_suppliers_scored",
            "suppliers scored, by band",
            ["band"],
            registry=self.registry,
        )
        self.invalid = Counter(
            "supplier_risk_suppliers_invalid",
            "supplier rows rejected as invalid in batch and CSV requests",
            registry=self.registry,
        )
        self.model = Gauge(
            "supplier_risk_model_info",
            "the model being served (1 for the current one)",
            ["name", "version", "sha256"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "supplier_risk_model_reloads",
            "model reload attempts, by result",
            ["result"],
            registry=self.registry,
        )
        self._unsaved: dict[str, int] = {}
        """Suppliers scored per band since the last scrape, not yet in ``scored``."""
        # Bound once: the edge calls it on every request.
        self.observe = self.stats.observe

    def count_band(self, band: str, n: int = 1) -> None:
        """Count suppliers scored into a band (on the event loop's thread, as observe)."""
        unsaved = self._unsaved
        if band in unsaved:
            unsaved[band] += n
        else:
            self.scored.labels(band)  # the band's series exists from its first supplier on
            unsaved[band] = n

    def _save_bands(self) -> None:
        """Add the suppliers counted since the last scrape to the Prometheus counter.

        Counter.inc takes a lock per call, which cost more than the rest of the count.
        """
        for band, n in self._unsaved.items():
            if n:
                self.scored.labels(band).inc(n)
                self._unsaved[band] = 0

    def set_model(self, name: str, version: str, sha256: str) -> None:
        """Show the served model (and only it) in the model-info gauge."""
        self.model.clear()
        self.model.labels(name, version, sha256).set(1)

    def render(self) -> bytes:
        """Return the metrics in the Prometheus text format."""
        self._save_bands()
        return generate_latest(self.registry)
