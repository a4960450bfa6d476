"""Vectorised validation of supplier-list columns: the CSV twin of SupplierRecord.

The rules are those of :mod:`supplier_risk.record` (the same enums, bounds and country codes),
applied column by column with pandas so that a million rows need no Python object per row. A
test checks that both paths accept and reject the same values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.errors import InputFileError
from supplier_risk.features import MISSING_CODE, RecordColumns
from supplier_risk.record import (
    ALTERNATES_BOUNDS,
    BUFFER_DAYS_BOUNDS,
    CHINA_SHARE_BOUNDS,
    END_USES,
    LICENCE_ORDER,
    RECORD_FIELDS,
    REQUIRED_FIELDS,
    SUPPLIER_ID_MAX,
    SUPPLIER_NAME_MAX,
    SUPPLIER_TYPE_ORDER,
    country_codes,
)
from supplier_risk.reference import Reference

MAX_SHOWN = 40
_DIGIT_UNDERSCORE = r"(?<=\d)_(?=\d)"
_WHOLE_NUMBER = r"\s*[+-]?\d+(?:\.0+)?\s*"
"""A datetime at midnight, which SupplierRecord accepts as a date (pydantic's rule)."""


def _without_underscores(values: pd.Series) -> pd.Series:
    """Return number cells without digit-separating underscores.

    Python (and so SupplierRecord) reads '1_000' as 1000: single underscores between digits.
    """
    if not values.str.contains("_", regex=False).any():
        return values
    return values.str.replace(_DIGIT_UNDERSCORE, "", regex=True)


@dataclass(frozen=True)
class ValidatedColumns:
    """Coded columns for every row, and an error message for each invalid one ('' if valid).

    ``fields`` marks, per field, the rows with an error in it: counting by field needs no
    parsing of the messages, which hold the rows' own values.
    """

    columns: RecordColumns
    errors: NDArray[np.object_]
    fields: dict[str, NDArray[np.bool_]] = dataclasses.field(default_factory=dict)

    @property
    def valid(self) -> NDArray[np.bool_]:
        """Return which rows are valid."""
        return np.asarray(self.errors == "", dtype=bool)


def _shown(values: pd.Series) -> pd.Series:
    """Return values quoted and truncated for an error message."""
    text = values.astype(str)
    long = text.str.len() > MAX_SHOWN
    text = text.where(~long, text.str.slice(0, MAX_SHOWN) + "...")
    return "'" + text + "'"


def joined_messages(
    current: NDArray[np.object_] | pd.Series, added: NDArray[np.object_] | pd.Series | str
) -> NDArray[np.object_]:
    """Return each row's messages with ``added`` after them, '; ' between ('' where none)."""
    both = (current != "") & (added != "")
    return np.asarray(np.where(both, current + "; " + added, current + added), dtype=object)


class _Errors:
    """Collects per-row messages."""

    def __init__(self, n: int, index: pd.Index) -> None:
        self.messages = pd.Series([""] * n, index=index, dtype=object)
        self.fields: dict[str, NDArray[np.bool_]] = {}

    def add(
        self,
        mask: pd.Series | NDArray[np.bool_],
        message: str,
        values: pd.Series | None = None,
        suffix: str = "",
    ) -> None:
        """Append ``message`` (or ``message 'value'suffix``) to the rows in ``mask``."""
        rows = np.asarray(mask, dtype=bool)
        if not rows.any():
            return
        # Every message starts "field:" and the row's value comes after, in ``values``.
        name = message.split(":", 1)[0]
        self.fields[name] = self.fields.get(name, np.zeros(rows.size, dtype=bool)) | rows
        msg: pd.Series | str = message
        if values is not None:
            msg = message + " " + _shown(values[rows]) + suffix
        self.messages[rows] = joined_messages(self.messages[rows], msg)


def _per_unique(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``convert`` to the distinct values only and spread the result back to the rows.

    Supplier lists repeat the same few countries, numbers and dates; converting each distinct
    value once is what makes a million rows cheap.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    converted = convert(pd.Series(uniques, dtype=object))
    return pd.Series(converted.to_numpy(dtype=object)[codes], index=values.index)


def _enum_codes(
    values: pd.Series, allowed: tuple[str, ...], field: str, errors: _Errors, required: bool
) -> NDArray[np.int64]:
    blank = values == ""
    codes = pd.Index(allowed).get_indexer(pd.Index(values))
    bad = (codes < 0) & ~blank
    errors.add(bad, field + ":", values, f" is not one of: {', '.join(allowed)}")
    if required:
        errors.add(blank, f"{field}: required, one of: {', '.join(allowed)}")
    return np.where(codes < 0, MISSING_CODE, codes).astype(np.int64)


def _numbers(
    values: pd.Series,
    field: str,
    bounds: tuple[float, float],
    errors: _Errors,
    required: bool,
    integer: bool = False,
) -> NDArray[np.float64]:
    blank = values == ""
    number = _per_unique(
        values,
        lambda u: pd.to_numeric(
            _without_underscores(u).where(u != "", None), errors="coerce"
        ).astype("float64"),
    ).astype("float64")
    unparsed = number.isna() & ~blank
    kind = "a whole number" if integer else "a number"
    lo, hi = bounds
    errors.add(unparsed, field + ":", values, f" is not {kind} from {lo:g} to {hi:g}")
    finite = np.isfinite(number)
    out = (~finite | (number < lo) | (number > hi)) & ~blank & ~unparsed
    errors.add(out, field + ":", values, f" is outside {lo:g} to {hi:g}")
    if integer:
        # SupplierRecord takes '3' and '3.0' as whole numbers but not '3.' or '1e2'.
        shaped = _per_unique(
            values, lambda u: _without_underscores(u).str.fullmatch(_WHOLE_NUMBER)
        ).astype(bool)
        fractional = finite & ~out & ((number != np.floor(number)) | ~shaped)
        errors.add(fractional, field + ":", values, " is not a whole number")
    if required:
        errors.add(blank, f"{field}: required, {kind} from {lo:g} to {hi:g}")
    # Adding 0.0 reads '-0' as 0.0 (SupplierRecord's rule), so no reason says "-0 days".
    return np.asarray(number.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64) + 0.0


def _countries(values: pd.Series, field: str, errors: _Errors, required: bool) -> pd.Series:
    code = _per_unique(values, lambda u: u.str.strip().str.upper())
    blank = code == ""
    known = code.isin(country_codes())
    errors.add(
        ~known & ~blank,
        field + ":",
        values,
        " is not an ISO 3166-1 alpha-2 country code (e.g. 'CN')",
    )
    if required:
        errors.add(blank, f"{field}: required, an ISO 3166-1 alpha-2 country code")
    return code.where(known & ~blank, None)


def _parse_dates(text: pd.Series) -> pd.Series:
    shaped = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}") & (text != "")
    return pd.to_datetime(text.where(shaped, None), format="%Y-%m-%d", errors="coerce")


def _dates(values: pd.Series, errors: _Errors, required: bool) -> NDArray[np.datetime64]:
    blank = values == ""
    parsed = pd.to_datetime(
        _per_unique(
            values,
            _parse_dates,
        )
    )
    bad = parsed.isna() & ~blank
    errors.add(bad, "as_of:", values, " is not a date YYYY-MM-DD")
    if required:
        errors.add(blank, "as_of: required, a date YYYY-MM-DD")
    return parsed.to_numpy(dtype="datetime64[D]")


def enum_errors(values: pd.Series, field: str, allowed: tuple[str, ...]) -> NDArray[np.object_]:
    """Return each row's error for a required column of closed values ('' where valid)."""
    errors = _Errors(len(values), values.index)
    _enum_codes(values, allowed, field, errors, required=True)
    return errors.messages.to_numpy(dtype=object)


def check_header(columns: list[str], required: tuple[str, ...] = REQUIRED_FIELDS) -> None:
    """Raise InputFileError when contract columns are repeated or required ones missing.

    ``columns`` are the normalised header cells, every one, repeats included. The contract
    columns are the record fields and the required ones (a training file's label).
    """
    seen: set[str] = set()
    repeated = [c for c in columns if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    contract_repeats = sorted({c for c in repeated if c in RECORD_FIELDS or c in required})
    if contract_repeats:
        raise InputFileError(
            f"column(s) {', '.join(contract_repeats)} appear more than once in the header: "
            "which one to use is ambiguous"
        )
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputFileError(
            f"missing required column(s): {', '.join(missing)}; the file has: "
            f"{', '.join(columns[:30]) or '(no columns)'}"
        )


def validate_frame(
    frame: pd.DataFrame, reference: Reference, require_as_of: bool = False
) -> ValidatedColumns:
    """Validate a frame of string cells ('' for blank) holding the record columns."""
    n = len(frame)
    errors = _Errors(n, frame.index)

    def column(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name].astype(str)
        return pd.Series([""] * n, index=frame.index, dtype=object)

    supplier_id = column("supplier_id")
    id_len = supplier_id.str.len()
    errors.add(id_len == 0, "supplier_id: required, 1 to 64 characters")
    errors.add(
        id_len > SUPPLIER_ID_MAX,
        "supplier_id:",
        supplier_id,
        f" is longer than {SUPPLIER_ID_MAX} characters",
    )
    name = column("supplier_name")
    errors.add(
        name.str.len() > SUPPLIER_NAME_MAX,
        "supplier_name:",
        name,
        f" is longer than {SUPPLIER_NAME_MAX} characters",
    )
    material = _enum_codes(
        column("material"), tuple(reference.materials), "material", errors, required=True
    )
    origin = _countries(column("origin_country"), "origin_country", errors, required=True)
    china_share = _numbers(
        column("china_share"), "china_share", CHINA_SHARE_BOUNDS, errors, required=False
    )
    licence = _enum_codes(
        column("licence_type"), LICENCE_ORDER, "licence_type", errors, required=True
    )
    end_use = _enum_codes(column("end_use"), END_USES, "end_use", errors, required=True)
    buffer_days = _numbers(
        column("inventory_buffer_days"),
        "inventory_buffer_days",
        BUFFER_DAYS_BOUNDS,
        errors,
        required=True,
    )
    alternates = _numbers(
        column("alternate_suppliers"),
        "alternate_suppliers",
        (float(ALTERNATES_BOUNDS[0]), float(ALTERNATES_BOUNDS[1])),
        errors,
        required=False,
        integer=True,
    )
    supplier_type = _enum_codes(
        column("supplier_type"), SUPPLIER_TYPE_ORDER, "supplier_type", errors, required=False
    )
    destination = _countries(
        column("destination_country"), "destination_country", errors, required=False
    )
    as_of = _dates(column("as_of"), errors, required=require_as_of)

    messages = errors.messages.to_numpy(dtype=object)
    valid = messages == ""
    # Invalid rows get harmless placeholder codes so that the columns stay scoreable arrays.
    columns = RecordColumns(
        supplier_id=supplier_id.to_numpy(dtype=object),
        material=np.where(valid, material, 0),
        origin_country=origin.to_numpy(dtype=object),
        china_share=np.where(valid, china_share, np.nan),
        licence=np.where(valid, licence, 0),
        end_use=np.where(valid, end_use, 0),
        buffer_days=np.where(valid, buffer_days, 0.0),
        alternates=np.where(valid, alternates, np.nan),
        supplier_type=np.where(valid, supplier_type, MISSING_CODE),
        destination_country=destination.to_numpy(dtype=object),
        as_of=as_of,
    )
    return ValidatedColumns(columns=columns, errors=messages, fields=errors.fields)
