"""The one settings object: SUPPLIER_RISK_* environment variables, read leniently where safe."""

from __future__ import annotations

import pytest

from supplier_risk.settings import Settings


@pytest.mark.parametrize("written", ["INFO", " Info ", "info"])
def test_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch, written: str) -> None:
    monkeypatch.setenv("SUPPLIER_RISK_LOG_LEVEL", written)
    assert Settings().log_level == "info"


def test_unknown_log_level_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPLIER_RISK_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="log_level"):
        Settings()
