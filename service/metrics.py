"""Prometheus metrics of one app: requests, latency, suppliers scored by band, model version.

Each app has its own registry, so several apps (tests) never share counters. With several
uvicorn workers each worker counts its own requests; Prometheus sums them per scrape target.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
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


class Metrics:
    """The service's metrics, with label children cached for the hot path."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "supplier_risk_http_requests",
            "HTTP requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "supplier_risk_http_request_duration_seconds",
            "time from request to the end of the response, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
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
        self._requests: dict[tuple[str, str, int], Counter] = {}
        self._latency: dict[str, Histogram] = {}
        self._bands: dict[str, Counter] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (route, method, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.requests.labels(route, method, str(status))
        counter.inc()
        histogram = self._latency.get(route)
        if histogram is None:
            histogram = self._latency[route] = self.latency.labels(route)
        histogram.observe(seconds)

    def count_band(self, band: str, n: int = 1) -> None:
        """Count suppliers scored into a band."""
        counter = self._bands.get(band)
        if counter is None:
            counter = self._bands[band] = self.scored.labels(band)
        counter.inc(n)

    def set_model(self, name: str, version: str, sha256: str) -> None:
        """Show the served model (and only it) in the model-info gauge."""
        self.model.clear()
        self.model.labels(name, version, sha256).set(1)

    def render(self) -> bytes:
        """Return the metrics in the Prometheus text format."""
        return generate_latest(self.registry)
