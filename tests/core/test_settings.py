"""The one settings object: SUPPLIER_RISK_* environment variables, read leniently where safe."""

from __future__ import annotations

import json

import pytest

from supplier_risk.record import EXAMPLE_RECORD
from supplier_risk.settings import Settings


@pytest.mark.parametrize("written", ["INFO", " Info ", "info"])
def test_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch, written: str) -> None:
    monkeypatch.setenv("SUPPLIER_RISK_LOG_LEVEL", written)
    assert Settings().log_level == "info"


def test_unknown_log_level_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPLIER_RISK_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="log_level"):
        Settings()


def test_a_full_batch_fits_the_default_body_limit() -> None:
    # max_batch_items records with long names must not be refused for their bytes first.
    settings = Settings()
    record = {**EXAMPLE_RECORD, "supplier_name": "N" * 60, "supplier_id": "V-" + "9" * 10}
    body = json.dumps({"suppliers": [record] * settings.max_batch_items, "explain": True})
    assert len(body.encode()) <= settings.max_body_bytes
