"""Shared fixtures: a record factory, the shipped reference data and a small trained model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from supplier_risk.record import EXAMPLE_RECORD, SupplierRecord
from supplier_risk.reference import Reference, load_reference
from supplier_risk.scorer import Scorer, build_scorer
from supplier_risk.settings import default_model_path

TODAY = dt.date(2026, 11, 28)

BASE_RECORD: dict[str, Any] = EXAMPLE_RECORD


def record_data(**overrides: Any) -> dict[str, Any]:
    """Return a valid record as a dict, with some fields changed (None removes a field)."""
    data = {**BASE_RECORD, **overrides}
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def make_record() -> Callable[..., SupplierRecord]:
    """Return a factory of valid SupplierRecords with overrides."""

    def make(**overrides: Any) -> SupplierRecord:
        return SupplierRecord.model_validate(record_data(**overrides))

    return make


@pytest.fixture(scope="session")
def reference() -> Reference:
    """Return the shipped reference data."""
    return load_reference()


@pytest.fixture(scope="session")
def model_path() -> Path:
    """Return the shipped default model file."""
    return default_model_path()


@pytest.fixture(scope="session")
def scorer(model_path: Path) -> Scorer:
    """Return a scorer on the shipped default model, reference data and scenarios."""
    return build_scorer(model_path)
