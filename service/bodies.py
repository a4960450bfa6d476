"""Request bodies in: content type, encoding, JSON and per-row validation, with clear errors."""

from __future__ import annotations

from typing import Any

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
from service.schemas import BatchEnvelope, BatchItemError, BatchRequest
from supplier_risk.record import SupplierRecord

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


class ParsedBatch:
    """A batch request: the valid records with their indices, and the invalid rows."""

    def __init__(
        self,
        records: list[SupplierRecord],
        indices: list[int],
        errors: list[BatchItemError],
        explain: bool,
        size: int,
    ) -> None:
        self.records = records
        self.indices = indices
        self.errors = errors
        self.explain = explain
        self.size = size


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


def parse_batch(body: bytes, max_items: int) -> ParsedBatch:
    """Validate a batch; every row separately, so each valid row is kept and each bad one listed."""
    try:
        batch = BatchRequest.model_validate_json(body)
    except ValidationError:
        pass  # some row (or the envelope) is invalid: validate row by row below
    else:
        n = len(batch.suppliers)
        if n > max_items:
            raise _too_many(n, max_items)
        return ParsedBatch(batch.suppliers, list(range(n)), [], batch.explain, n)
    try:
        document = from_json(body)
    except ValueError as exc:
        raise malformed_json(body, str(exc)) from None
    try:
        envelope = BatchEnvelope.model_validate(document)
    except ValidationError as exc:
        raise validation_error(exc, body, "batch request") from None
    items = envelope.suppliers
    if len(items) > max_items:
        raise _too_many(len(items), max_items)
    records: list[SupplierRecord] = []
    indices: list[int] = []
    errors: list[BatchItemError] = []
    for index, item in enumerate(items):
        try:
            records.append(SupplierRecord.model_validate(item))
            indices.append(index)
        except ValidationError as exc:
            errors.append(
                BatchItemError(
                    index=index,
                    supplier_id=_supplier_id_of(item),
                    errors=field_errors(exc.errors()[:MAX_ERRORS]),
                )
            )
    return ParsedBatch(records, indices, errors, envelope.explain, len(items))
