"""Request bodies in: content type, encoding, JSON and per-row validation, with clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import from_json

from service.errors import (
    MAX_ERRORS,
    ApiError,
    field_errors,
    malformed_json,
    shown_value,
    validation_error,
)
from service.schemas import BatchEnvelope, BatchItemError
from supplier_risk.features import RecordColumns
from supplier_risk.json_batch import code_items
from supplier_risk.record import SupplierRecord
from supplier_risk.reference import Reference

JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


def media_type(content_type: str) -> str:
    """Return a Content-Type's media type, lower case, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def require_json(content_type: str) -> None:
    """Raise 415 unless the body is declared as JSON."""
    kind = media_type(content_type)
    if kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json")):
        return
    shown = kind or "none"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {shown!r} is not supported here; send 'application/json'",
    )


def parse_record(body: bytes) -> SupplierRecord:
    """Validate one supplier record from JSON bytes (400 for bad JSON, 422 for bad fields)."""
    try:
        return SupplierRecord.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc, body, "record") from None


@dataclass(frozen=True)
class ParsedBatch:
    """A batch request: the valid records as columns with their indices, and the invalid rows."""

    columns: RecordColumns
    indices: list[int]
    errors: list[BatchItemError]
    explain: bool
    size: int


def _supplier_id_of(item: Any) -> str | None:
    if isinstance(item, dict):
        value = item.get("supplier_id")
        if isinstance(value, str):
            shown = shown_value(value)
            return shown if isinstance(shown, str) else None
    return None


def _too_many(count: int, limit: int) -> ApiError:
    return ApiError(
        413,
        "too_many_items",
        f"the batch has {count} suppliers; at most {limit} are allowed per request "
        "(split it, or use POST /v1/score/csv)",
    )


def _document(body: bytes) -> Any:
    """Parse JSON bytes: orjson first (fast, strict), pydantic's parser for what it refuses.

    pydantic's parser also reads NaN, Infinity and integers beyond 64 bits, so such values reach
    SupplierRecord and get its per-field errors; its message locates malformed JSON.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return from_json(body)
    except ValueError as exc:
        raise malformed_json(body, str(exc)) from None


def parse_batch(body: bytes, max_items: int, reference: Reference) -> ParsedBatch:
    """Validate a batch; every row separately, so each valid row is kept and each bad one listed."""
    document = _document(body)
    try:
        envelope = BatchEnvelope.model_validate(document)
    except ValidationError as exc:
        raise validation_error(exc, body, "batch request") from None
    items = envelope.suppliers
    if len(items) > max_items:
        raise _too_many(len(items), max_items)
    coded = code_items(items, reference)
    errors = [
        BatchItemError(
            index=index,
            supplier_id=_supplier_id_of(items[index]),
            errors=field_errors(exc.errors()[:MAX_ERRORS]),
        )
        for index, exc in coded.invalid
    ]
    return ParsedBatch(coded.columns, coded.indices, errors, envelope.explain, len(items))
