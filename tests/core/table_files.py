"""Helpers for the supplier-list tests: CSV bytes from records, and reading results back."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import BASE_RECORD, record_data

COLUMNS = list(BASE_RECORD)


def rows(n: int, **overrides: Any) -> list[dict[str, Any]]:
    """Return n valid records with ids S-0..S-(n-1)."""
    return [record_data(supplier_id=f"S-{i}", **overrides) for i in range(n)]


def csv_bytes(
    records: list[dict[str, Any]],
    columns: list[str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\r\n",
) -> bytes:
    """Return records as a CSV file's bytes."""
    columns = columns or (list(records[0]) if records else COLUMNS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else record.get(c) for c in columns])
    return buffer.getvalue().encode(encoding)


def parse(text: str, delimiter: str = ",") -> list[dict[str, str]]:
    """Return CSV text as dicts (the output of a run)."""
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))
