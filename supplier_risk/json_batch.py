"""A JSON batch's supplier objects to coded columns, checked column by column.

First, a body whose every record is canonical is decoded and checked in one C pass by msgspec
(:class:`CanonicalReader`), against types built from the same bounds and codes as
SupplierRecord; the columns are then read off the decoded records. Any other body (one field
outside the canonical subset, one invalid row) is read as follows, which also words each error.

:class:`~supplier_risk.record.SupplierRecord` stays the one definition of a valid record. What
an ERP sends is nearly always already canonical (known codes, upper-case countries, numbers as
JSON numbers, dates as YYYY-MM-DD), and for such rows a check per column, done with set
operations and NumPy, is enough: it costs a fraction of building a model object per row. A row
outside that canonical subset, valid or not, goes through SupplierRecord itself, which accepts
what it accepts (lower-case countries, numeric strings, ...) and words the errors. A property
test checks that both ways give the same columns and the same invalid rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Annotated, Any, Literal

import msgspec
import numpy as np
from pydantic import ValidationError

from supplier_risk.features import MISSING_CODE, RecordColumns
from supplier_risk.record import (
    ALTERNATES_BOUNDS,
    BUFFER_DAYS_BOUNDS,
    CHINA_SHARE_BOUNDS,
    END_USES,
    LICENCE_ORDER,
    RECORD_FIELDS,
    SUPPLIER_ID_MAX,
    SUPPLIER_NAME_MAX,
    SUPPLIER_TYPE_ORDER,
    MaterialContext,
    SupplierRecord,
    country_codes,
    material_context,
)
from supplier_risk.reference import Reference

_FIELDS = frozenset(RECORD_FIELDS)
_NUMBER: frozenset[type] = frozenset({int, float})
_OPTIONAL_NUMBER: frozenset[type] = frozenset({int, float, type(None)})
_OPTIONAL_INT: frozenset[type] = frozenset({int, type(None)})
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")

Column = Sequence[Any]
RowCheck = Callable[[Any], bool]


@dataclass(frozen=True)
class CodedItems:
    """The valid items of a batch as columns, where they were, and why the others are not."""

    columns: RecordColumns
    """the valid items, in batch order"""
    indices: list[int]
    """each valid item's position in the batch"""
    invalid: list[tuple[int, ValidationError]]
    """each invalid item's position and SupplierRecord's errors, in batch order"""


def _bad_rows(column: Column, column_ok: Callable[[Column], bool], row_ok: RowCheck) -> list[int]:
    """Return the rows whose value is not canonical: one check per column, rows only on failure."""
    try:
        if column_ok(column):
            return []
    except (TypeError, ValueError, OverflowError):
        pass  # an unhashable or odd value somewhere: look row by row
    return [i for i, value in enumerate(column) if not row_ok(value)]


def _in(allowed: frozenset[Any]) -> tuple[Callable[[Column], bool], RowCheck]:
    """Checks that every value is one of ``allowed`` (strings, and None where optional)."""

    def row_ok(value: Any) -> bool:
        return (value is None or type(value) is str) and value in allowed

    return (lambda column: set(column) <= allowed), row_ok


def _text(low: int, high: int, optional: bool) -> tuple[Callable[[Column], bool], RowCheck]:
    """Checks that every value is a string of ``low`` to ``high`` characters."""

    def column_ok(column: Column) -> bool:
        present = [v for v in column if v is not None] if optional else column
        if not set(map(type, present)) <= {str}:
            return False
        lengths = list(map(len, present))
        return not lengths or (min(lengths) >= low and max(lengths) <= high)

    def row_ok(value: Any) -> bool:
        if value is None:
            return optional
        return type(value) is str and low <= len(value) <= high

    return column_ok, row_ok


def _number(
    bounds: tuple[float, float], types: frozenset[type]
) -> tuple[Callable[[Column], bool], RowCheck]:
    """Checks that every value is a JSON number of an allowed type within ``bounds``."""
    low, high = bounds

    def column_ok(column: Column) -> bool:
        if not set(map(type, column)) <= types:
            return False
        present = [v for v in column if v is not None] if type(None) in types else column
        values = np.array(present, dtype=np.float64)
        # NaN fails both comparisons, so a NaN that came in as a value is refused here.
        return bool(((values >= low) & (values <= high)).all())

    def row_ok(value: Any) -> bool:
        if value is None:
            return type(None) in types
        return type(value) in types and low <= value <= high

    return column_ok, row_ok


def _date_ok(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is not str or not _DATE_TEXT.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _dates() -> tuple[Callable[[Column], bool], RowCheck]:
    """Checks that every value is absent or a valid YYYY-MM-DD date."""
    return (lambda column: all(map(_date_ok, set(column)))), _date_ok


def _checks(served: MaterialContext) -> dict[str, tuple[Callable[[Column], bool], RowCheck]]:
    countries = country_codes()
    return {
        "supplier_id": _text(1, SUPPLIER_ID_MAX, optional=False),
        "supplier_name": _text(0, SUPPLIER_NAME_MAX, optional=True),
        "material": _in(served["materials"]),
        "origin_country": _in(countries),
        "china_share": _number(CHINA_SHARE_BOUNDS, _OPTIONAL_NUMBER),
        "licence_type": _in(frozenset(LICENCE_ORDER)),
        "end_use": _in(frozenset(END_USES)),
        "inventory_buffer_days": _number(BUFFER_DAYS_BOUNDS, _NUMBER),
        "alternate_suppliers": _number(
            (float(ALTERNATES_BOUNDS[0]), float(ALTERNATES_BOUNDS[1])), _OPTIONAL_INT
        ),
        "supplier_type": _in(frozenset({*SUPPLIER_TYPE_ORDER, None})),
        "destination_country": _in(frozenset({*countries, None})),
        "as_of": _dates(),
    }


def _bounded(bounds: tuple[float, float]) -> msgspec.Meta:
    return msgspec.Meta(ge=bounds[0], le=bounds[1])


def _one_of(values: Iterable[str]) -> Any:
    """Return the type whose values are exactly ``values`` (msgspec checks it in C)."""
    return Literal[tuple(sorted(values))]


_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()


class CanonicalReader:
    """Reads a batch body whose every record is canonical in one C pass, for one served table.

    msgspec decodes and checks the whole body against types built from SupplierRecord's own
    bounds, the served materials and the known countries: codes are literals, dates are dates.
    What an ERP sends is nearly always canonical (known codes, upper-case countries, numbers as
    JSON numbers, dates as YYYY-MM-DD). Anything else (one odd or invalid row, an unknown field)
    makes :meth:`decode` return None: the long way (:func:`code_items`) reads it and words errors.
    The records hold no container, so the garbage collector need not track them (``gc=False``).
    """

    def __init__(self, reference: Reference) -> None:
        countries = _one_of(country_codes())
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [
            ("supplier_id", Annotated[str, msgspec.Meta(min_length=1, max_length=SUPPLIER_ID_MAX)]),
            ("material", _one_of(reference.materials)),
            ("origin_country", countries),
            ("licence_type", _one_of(LICENCE_ORDER)),
            ("end_use", _one_of(END_USES)),
            ("inventory_buffer_days", Annotated[float, _bounded(BUFFER_DAYS_BOUNDS)]),
            (
                "supplier_name",
                Annotated[str, msgspec.Meta(max_length=SUPPLIER_NAME_MAX)] | None,
                None,
            ),
            ("china_share", Annotated[float, _bounded(CHINA_SHARE_BOUNDS)] | None, None),
            ("alternate_suppliers", Annotated[int, _bounded(ALTERNATES_BOUNDS)] | None, None),
            ("supplier_type", _one_of(SUPPLIER_TYPE_ORDER) | None, None),
            ("destination_country", countries | None, None),
            ("as_of", dt.date | None, None),
        ]
        record = msgspec.defstruct("CanonicalRecord", fields, forbid_unknown_fields=True, gc=False)
        batch = msgspec.defstruct(
            "CanonicalBatch",
            [("suppliers", list[record]), ("explain", bool, True)],  # type: ignore[valid-type]
            forbid_unknown_fields=True,
        )
        self._decoder = msgspec.json.Decoder(batch)
        self._order = {name: i for i, (name, *_) in enumerate(fields)}
        self._tables = code_tables(reference)

    def decode(self, body: bytes) -> Any:
        """Return the body decoded (``suppliers`` and ``explain``), or None unless canonical."""
        try:
            return self._decoder.decode(body)
        # A string that is not UTF-8 raises UnicodeDecodeError, not a MsgspecError: the long
        # way words it (400 invalid_encoding).
        except (msgspec.MsgspecError, UnicodeDecodeError):
            return None

    def columns(self, records: Sequence[Any]) -> RecordColumns:
        """Return decoded records as coded columns."""
        if not records:
            return _coded({name: [] for name in RECORD_FIELDS}, self._tables)
        values = list(zip(*map(msgspec.structs.astuple, records), strict=True))
        return _coded({name: values[i] for name, i in self._order.items()}, self._tables)


def _canonical(record: SupplierRecord) -> dict[str, Any]:
    """Return a validated record's fields as a canonical row would carry them."""
    values = dict(record)
    for name in ("licence_type", "end_use", "supplier_type"):
        if values[name] is not None:
            values[name] = values[name].value
    return values


def _codes(column: Column, codes: dict[Any, int]) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.fromiter(map(codes.__getitem__, column), np.int64, len(column))


def _floats(column: Column) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Return the values (numbers or None) as float64, -0.0 as 0.0 (as SupplierRecord reads it)."""
    # Adding 0.0 turns -0.0 into 0.0 and leaves every other value, NaN included, as it is.
    return np.array(column, dtype=np.float64) + 0.0


_NAT = np.iinfo(np.int64).min
"""NaT as datetime64's underlying integer"""


def _days(column: Column) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """Return each value (a date, a YYYY-MM-DD text or None) as datetime64[D]."""
    kinds = set(map(type, column))
    if kinds <= {dt.date}:  # days since 1970, counted in C
        ordinals = np.fromiter(map(dt.date.toordinal, column), np.int64, len(column))
        return (ordinals - _EPOCH_DAY).view("datetime64[D]")
    if kinds <= {dt.date, type(None)}:
        days = (_NAT if v is None else v.toordinal() - _EPOCH_DAY for v in column)
        return np.fromiter(days, np.int64, len(column)).view("datetime64[D]")
    text = [v if type(v) is str else ("NaT" if v is None else v.isoformat()) for v in column]
    return np.array(text, dtype="datetime64[D]")


def code_items(
    items: Sequence[Any], reference: Reference, served: MaterialContext | None = None
) -> CodedItems:
    """Validate a batch's items and code the valid ones as columns, in batch order.

    ``served`` is the reference data's material context (Scorer.record_context), if at hand.
    """
    if served is None:
        served = material_context(reference.materials)
    # A missing required field shows as None in its column, which every check refuses.
    rows: Sequence[dict[str, Any]] = items
    odd: set[int] = set()
    if not (set(map(type, items)) <= {dict} and all(map(_FIELDS.issuperset, items))):
        shaped = [type(item) is dict and _FIELDS.issuperset(item) for item in items]
        rows = [item if ok else {} for item, ok in zip(items, shaped, strict=True)]
        odd = {i for i, ok in enumerate(shaped) if not ok}
    columns = {name: list(map(dict.get, rows, repeat(name))) for name in RECORD_FIELDS}
    for name, (column_ok, row_ok) in _checks(served).items():
        odd.update(_bad_rows(columns[name], column_ok, row_ok))
    invalid: list[tuple[int, ValidationError]] = []
    for i in sorted(odd):
        try:
            record = SupplierRecord.model_validate(items[i], context=served)
        except ValidationError as exc:
            invalid.append((i, exc))
            continue
        for name, value in _canonical(record).items():
            columns[name][i] = value
    indices = list(range(len(items)))
    if invalid:
        dropped = {i for i, _ in invalid}
        indices = [i for i in indices if i not in dropped]
        columns = {name: [column[i] for i in indices] for name, column in columns.items()}
    return CodedItems(_coded(columns, code_tables(reference)), indices, invalid)


CodeTables = dict[str, dict[Any, int]]


def code_tables(reference: Reference) -> CodeTables:
    """Return each coded field's code per value, as columns_from_records codes records."""
    return {
        "material": {code: i for i, code in enumerate(reference.materials)},
        "licence_type": {v: i for i, v in enumerate(LICENCE_ORDER)},
        "end_use": {v: i for i, v in enumerate(END_USES)},
        "supplier_type": {None: MISSING_CODE, **{v: i for i, v in enumerate(SUPPLIER_TYPE_ORDER)}},
    }


def _coded(columns: Mapping[str, Column], tables: CodeTables) -> RecordColumns:
    """Code canonical columns the way columns_from_records codes records."""
    return RecordColumns(
        supplier_id=np.array(columns["supplier_id"], dtype=object),
        material=_codes(columns["material"], tables["material"]),
        origin_country=np.array(columns["origin_country"], dtype=object),
        china_share=_floats(columns["china_share"]),
        licence=_codes(columns["licence_type"], tables["licence_type"]),
        end_use=_codes(columns["end_use"], tables["end_use"]),
        buffer_days=_floats(columns["inventory_buffer_days"]),
        alternates=np.array(columns["alternate_suppliers"], dtype=np.float64),
        supplier_type=_codes(columns["supplier_type"], tables["supplier_type"]),
        destination_country=np.array(columns["destination_country"], dtype=object),
        as_of=_days(columns["as_of"]),
    )
