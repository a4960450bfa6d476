"""The vectorised CSV validation agrees with the pydantic record on what is valid."""

from __future__ import annotations

import pandas as pd
import pytest

from supplier_risk.errors import RecordError
from supplier_risk.record import RECORD_FIELDS, parse_record
from supplier_risk.reference import Reference
from supplier_risk.validation import validate_frame
from tests.conftest import record_data

CELLS: list[tuple[str, str]] = [
    ("china_share", "0.5"), ("china_share", "1"), ("china_share", "1.5"), ("china_share", "-0"),
    ("china_share", "nan"), ("china_share", "inf"), ("china_share", "half"), ("china_share", ""),
    ("inventory_buffer_days", "0"), ("inventory_buffer_days", "3650"),
    ("inventory_buffer_days", "3651"), ("inventory_buffer_days", "-1"),
    ("inventory_buffer_days", ""), ("inventory_buffer_days", "True"),
    ("alternate_suppliers", "3"), ("alternate_suppliers", "2.5"), ("alternate_suppliers", "1001"),
    ("alternate_suppliers", ""), ("alternate_suppliers", "x"),
    ("licence_type", "general"), ("licence_type", "General"), ("licence_type", ""),
    ("end_use", "defense"), ("end_use", "military"), ("supplier_type", "smaller"),
    ("supplier_type", "big"), ("supplier_type", ""), ("material", "dy_oxide"),
    ("material", "Dy_oxide"), ("origin_country", "cn"), ("origin_country", "XX"),
    ("origin_country", ""), ("destination_country", "us"), ("destination_country", "USA"),
    ("destination_country", ""), ("as_of", "2026-11-22"), ("as_of", "2026-02-30"),
    ("as_of", "22/11/2026"), ("as_of", ""), ("supplier_id", ""), ("supplier_id", "x" * 65),
    ("supplier_name", "n" * 201),
]  # fmt: skip


def pydantic_accepts(field: str, cell: str) -> bool:
    data = {k: str(v) for k, v in record_data().items()}
    if cell == "":
        data.pop(field)  # a blank cell is a missing field
    else:
        data[field] = cell
    try:
        parse_record(data)
    except RecordError:
        return False
    return True


@pytest.mark.parametrize(("field", "cell"), CELLS)
def test_validate_frame_agrees_with_record(reference: Reference, field: str, cell: str) -> None:
    row = {k: str(v) for k, v in record_data().items()}
    row[field] = cell
    frame = pd.DataFrame([row], columns=list(RECORD_FIELDS), dtype=str).fillna("")
    validated = validate_frame(frame, reference)
    assert bool(validated.valid[0]) == pydantic_accepts(field, cell), validated.errors[0]


def test_validate_frame_names_field_value_and_allowed(reference: Reference) -> None:
    row = {k: str(v) for k, v in record_data(china_share=1.5, end_use="war").items()}
    validated = validate_frame(pd.DataFrame([row], dtype=str), reference)
    message = str(validated.errors[0])
    assert "china_share: '1.5' is outside 0 to 1" in message
    assert "end_use: 'war' is not one of: consumer_electronics" in message


def test_validate_frame_shows_a_too_long_name(reference: Reference) -> None:
    row = {k: str(v) for k, v in record_data(supplier_name="n" * 201).items()}
    message = str(validate_frame(pd.DataFrame([row], dtype=str), reference).errors[0])
    assert message.startswith("supplier_name: 'nnnn")
    assert message.endswith("...' is longer than 200 characters")


@pytest.mark.parametrize("cell", ["-0", "-0.0", "-0e0", "-0_0"])
def test_validate_frame_reads_negative_zero_as_zero(reference: Reference, cell: str) -> None:
    row = {k: str(v) for k, v in record_data().items()}
    frame = pd.DataFrame([{**row, "inventory_buffer_days": cell, "china_share": cell}])
    columns = validate_frame(frame, reference).columns
    assert str(columns.buffer_days[0]) == "0.0"
    assert str(columns.china_share[0]) == "0.0"
