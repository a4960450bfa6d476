"""Which rows share a reason's words: per term, a code per row (equal codes, equal words).

:func:`supplier_risk.explain.reason_text` words one term for one record, but most of a record
does not change a given term's words (the buffer reason reads only the buffer and whether the
material is controlled). Grouping rows by the facts each term reads lets a batch word each
distinct situation once. A test checks that every term's words depend only on the facts listed
in REASON_KEYS.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from supplier_risk.factorize import factorized, whole_or_as_is
from supplier_risk.features import FEATURE_NAMES, Features, RecordColumns

IntArray = NDArray[np.int64]

CONTEXT_KEYS: tuple[str, ...] = (
    "material",
    "controlled",
    "as_of",
    "licence",
    "end_use",
    "buffer_days",
    "alternates",
    "supplier_type",
    "china_share",
    "rule_applied",
)
"""The record facts a ReasonContext is built from (descriptions follow from the material)."""

REASON_KEYS: dict[str, tuple[str, ...]] = {
    "licence_type": ("licence", "rule_applied"),
    "china_share": ("china_share",),
    "controlled": ("material", "controlled", "as_of"),
    "inventory_buffer_days": ("buffer_days", "controlled"),
    "alternate_suppliers": ("alternates",),
    "supplier_type": ("supplier_type", "controlled"),
    "end_use": ("end_use", "controlled"),
    "licence_type x end_use": ("licence", "end_use"),
    "licence_type x inventory_buffer_days": ("licence", "buffer_days"),
}
"""Which context facts each term's words read; a term not listed is keyed on all of them."""

_COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


def factor_codes(values: NDArray[np.generic]) -> IntArray:
    """Return a code per value from 0, equal values equal codes (None and NaN one code too)."""
    codes, _ = factorized(whole_or_as_is(values))
    return codes


def context_codes(columns: RecordColumns, features: Features) -> dict[str, IntArray]:
    """Return, per context fact, an integer code per row (equal codes, equal facts)."""
    matrix = features.matrix
    return {
        "material": np.asarray(columns.material, dtype=np.int64),
        "controlled": factor_codes(matrix[:, _COL["controlled"]]),
        "as_of": factor_codes(features.as_of.astype("int64")),
        "licence": factor_codes(matrix[:, _COL["licence_type"]]),
        "end_use": np.asarray(columns.end_use, dtype=np.int64),
        "buffer_days": factor_codes(matrix[:, _COL["inventory_buffer_days"]]),
        "alternates": factor_codes(matrix[:, _COL["alternate_suppliers"]]),
        "supplier_type": factor_codes(matrix[:, _COL["supplier_type"]]),
        "china_share": factor_codes(matrix[:, _COL["china_share"]]),
        "rule_applied": factor_codes(features.rule_applied),
    }


def combine(parts: list[IntArray], n: int) -> IntArray:
    """Return one code per row for the tuple of codes in ``parts`` (equal tuples, equal codes)."""
    key = np.zeros(n, dtype=np.int64)
    for part in parts:
        radix = int(part.max()) + 1 if part.size else 1
        if n and (int(key.max()) + 1) * radix >= 1 << 62:
            key = factor_codes(key)  # re-number so that the mixed-radix key cannot overflow
        key = key * radix + part
    return key


def term_keys(
    term_names: tuple[str, ...], codes: dict[str, IntArray], rows: IntArray | None = None
) -> list[IntArray]:
    """Return, per term, a code per row (of ``rows``, or all) that decides the term's words."""
    picked = codes if rows is None else {k: v[rows] for k, v in codes.items()}
    n = len(next(iter(picked.values())))
    return [
        combine([picked[k] for k in REASON_KEYS.get(name, CONTEXT_KEYS)], n) for name in term_names
    ]
