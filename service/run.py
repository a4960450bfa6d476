"""Run the service on uvicorn (uvloop, httptools); filled in by the service work."""

from __future__ import annotations

from supplier_risk.settings import Settings


def run(settings: Settings) -> int:
    """Serve until stopped; return the process exit code."""
    raise NotImplementedError("the HTTP service is not built yet")
