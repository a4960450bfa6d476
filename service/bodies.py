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
from supplier_risk.record import MaterialContext, SupplierRecord
from supplier_risk.scorer import Scorer

JSON_TYPES = ("application/json",)
BATCH_FIELDS: tuple[str, ...] = tuple(BatchEnvelope.model_fields)
CSV_TYPES = ("text/csv", "application/csv", "text/plain")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSM_TYPE = "application/vnd.ms-excel.sheet.macroenabled.12"
"""A workbook with macros (read as any workbook: its macros are never run), lower case."""
LIST_TYPES = (*CSV_TYPES, XLSX_TYPE, XLSM_TYPE, "application/octet-stream")
"""A raw supplier-list body: CSV or a workbook, whatever the label (the content decides)."""
UTF8_BOM = b"\xef\xbb\xbf"
"""Some Windows tools start UTF-8 text with it; JSON parsers may ignore it (RFC 8259, 8.1)."""


def media_type(content_type: str) -> str:
    """Return a Content-Type's media type, lower case, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def _quality(parameters: list[str]) -> float:
    """Return the q value among a media range's parameters (1 when absent or unreadable)."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 1.0
    return 1.0


_RANGES: dict[str, tuple[tuple[str, int], ...]] = {
    "application/json": (("application/json", 2),),
    "application/*": (("application/json", 1),),
    "text/csv": (("text/csv", 2),),
    "text/*": (("text/csv", 1),),
    "*/*": (("application/json", 0), ("text/csv", 0)),
}
"""media range -> the answer types it matches, with how specifically"""


def prefers_json(accept: str) -> bool:
    """Return whether an Accept header asks for JSON rather than CSV (RFC 9110, 12.5.1).

    Each type takes the q of the most specific range that matches it. JSON must be named
    outright with q > 0 and weigh at least as much as CSV; otherwise the answer is CSV, the
    endpoint's default (also for a header naming neither).
    """
    best: dict[str, tuple[int, float]] = {}  # answer type -> (specificity, q)
    for item in accept.split(","):
        kind, *parameters = item.split(";")
        for answer, specificity in _RANGES.get(kind.strip().lower(), ()):
            if specificity > best.get(answer, (-1, 0.0))[0]:
                best[answer] = (specificity, _quality(parameters))
    specificity, json_q = best.get("application/json", (0, 0.0))
    return specificity == 2 and json_q > 0 and json_q >= best.get("text/csv", (0, 0.0))[1]


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


def parse_record(body: bytes, context: MaterialContext | None = None) -> SupplierRecord:
    """Validate one supplier record from JSON bytes (400 for bad JSON, 422 for bad fields)."""
    try:
        return SupplierRecord.model_validate_json(body, context=context)
    except ValidationError as exc:
        error = exc
    if body.startswith(UTF8_BOM):  # looked at only here: it costs a valid body nothing
        body = body[len(UTF8_BOM) :]
        try:
            return SupplierRecord.model_validate_json(body, context=context)
        except ValidationError as exc:
            error = exc
    raise validation_error(error, body, "record", served=context) from None


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


def _document(body: bytes) -> tuple[Any, bool]:
    """Parse JSON bytes; return the document and whether every number in it is exact.

    orjson first (fast). It refuses NaN and Infinity, and reads an integer beyond 64 bits as
    the nearest float; pydantic's parser reads all of these as written, so such values reach
    SupplierRecord and get its per-field errors. Its message also locates malformed JSON.
    """
    try:
        return orjson.loads(body), False
    except orjson.JSONDecodeError:
        pass
    try:
        return from_json(body), True
    except ValueError as exc:
        raise malformed_json(body, str(exc)) from None


_INT64_LIMIT = 2.0**63


def _maybe_rounded(item: Any) -> bool:
    """Return whether an item holds a float as large as an integer orjson would have rounded."""
    values = item.values() if isinstance(item, dict) else (item,)
    return any(isinstance(v, float) and abs(v) >= _INT64_LIMIT for v in values)


def _envelope(document: Any, body: bytes) -> BatchEnvelope:
    try:
        return BatchEnvelope.model_validate(document)
    except ValidationError as exc:
        raise validation_error(exc, body, "batch request", BATCH_FIELDS) from None


def parse_batch(body: bytes, max_items: int, scorer: Scorer) -> ParsedBatch:
    """Validate a batch; every row separately, so each valid row is kept and each bad one listed.

    Records are checked against the scorer's reference data: a canonical body in one pass
    (parse_canonical_batch), any other the long way (parse_batch_rows).
    """
    batch = parse_canonical_batch(body, max_items, scorer)
    return batch if batch is not None else parse_batch_rows(body, max_items, scorer)


def parse_canonical_batch(body: bytes, max_items: int, scorer: Scorer) -> ParsedBatch | None:
    """Return a batch whose every record is canonical, read in one pass; None for any other.

    None costs little: wording each bad row's errors (parse_batch_rows) is what costs.
    """
    reader = scorer.batch_reader
    batch = reader.decode(body.removeprefix(UTF8_BOM))
    if batch is None:
        return None
    size = len(batch.suppliers)
    if size > max_items:
        raise _too_many(size, max_items)
    return ParsedBatch(reader.columns(batch.suppliers), list(range(size)), [], batch.explain, size)


def parse_batch_rows(body: bytes, max_items: int, scorer: Scorer) -> ParsedBatch:
    """Validate a batch row by row, wording every invalid row's errors (the long way)."""
    body = body.removeprefix(UTF8_BOM)
    reference, served = scorer.reference, scorer.record_context
    document, exact = _document(body)
    envelope = _envelope(document, body)
    items = envelope.suppliers
    if len(items) > max_items:
        raise _too_many(len(items), max_items)
    coded = code_items(items, reference, served)
    if not exact and any(_maybe_rounded(items[index]) for index, _ in coded.invalid):
        # An error names the value sent: read the body again, keeping big integers exact.
        # Such an integer is out of every field's bounds, so no valid row changes.
        envelope = _envelope(from_json(body), body)
        items = envelope.suppliers
        coded = code_items(items, reference, served)
    errors = [
        BatchItemError(
            index=index,
            supplier_id=_supplier_id_of(items[index]),
            errors=field_errors(exc.errors()[:MAX_ERRORS], served=served),
        )
        for index, exc in coded.invalid
    ]
    return ParsedBatch(coded.columns, coded.indices, errors, envelope.explain, len(items))
