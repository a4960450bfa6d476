"""The vectorised CSV validation accepts and rejects exactly what SupplierRecord does."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from supplier_risk.record import END_USES, LICENCE_ORDER, SUPPLIER_TYPE_ORDER, SupplierRecord
from supplier_risk.reference import Reference
from supplier_risk.validation import validate_frame


def _enum(allowed: tuple[str, ...]) -> st.SearchStrategy[str]:
    wrong = [a.upper() for a in allowed[:2]] + [f" {allowed[0]}", f"{allowed[0]} ", "x", ""]
    return st.sampled_from([*allowed, *wrong])


def _number(lo: float, hi: float) -> st.SearchStrategy[str]:
    odd = ["", "abc", "nan", "inf", "-inf", "1e2", "-0", ".5", "5.", " 7", "7 ", "1,5", "0x10"]
    odd += ["1_0", "1__0", "_1", "3.0", "3.00", "+3", "1e400", "Infinity", "1_0.5", "\t5\n"]
    return st.one_of(
        st.floats(lo - 10, hi + 10, allow_nan=False).map(lambda v: f"{v:.3f}"),
        st.integers(int(lo) - 5, int(hi) + 5).map(str),
        st.sampled_from(odd),
    )


COUNTRIES = st.sampled_from(["CN", "cn", " JP ", "DE", "XX", "", "USA", "C N"])
MATERIALS = ("dy_oxide", "ho_oxide", "ndfeb_magnet")


VALID = {
    "supplier_id": "V-1",
    "supplier_name": "Example",
    "material": "dy_oxide",
    "origin_country": "CN",
    "china_share": "0.9",
    "licence_type": "individual",
    "end_use": "automotive",
    "inventory_buffer_days": "30",
    "alternate_suppliers": "1",
    "supplier_type": "smaller",
    "destination_country": "DE",
    "as_of": "2026-11-22",
}


@st.composite
def cells(draw: st.DrawFn) -> dict[str, str]:
    """Draw one CSV row's cells: a valid row with one to three fields drawn valid or not.

    Changing only a few fields keeps most rows one mistake away from valid, where a
    disagreement between the two validators shows.
    """
    drawn = draw(any_cells())
    changed = draw(st.sets(st.sampled_from(sorted(VALID)), min_size=1, max_size=3))
    return {k: drawn[k] if k in changed else v for k, v in VALID.items()}


@st.composite
def any_cells(draw: st.DrawFn) -> dict[str, str]:
    """Draw one CSV row's cells, valid or not, field by field."""
    return {
        "supplier_id": draw(st.one_of(st.sampled_from(["", " ", "V-1"]), st.text(max_size=70))),
        "supplier_name": draw(st.one_of(st.just(""), st.text(max_size=210))),
        "material": draw(_enum(MATERIALS)),
        "origin_country": draw(COUNTRIES),
        "china_share": draw(_number(0, 1)),
        "licence_type": draw(_enum(LICENCE_ORDER)),
        "end_use": draw(_enum(END_USES)),
        "inventory_buffer_days": draw(_number(0, 3650)),
        "alternate_suppliers": draw(
            st.one_of(_number(0, 1000), st.sampled_from(["3.0", "2.5", "1e2"]))
        ),
        "supplier_type": draw(_enum(SUPPLIER_TYPE_ORDER)),
        "destination_country": draw(COUNTRIES),
        "as_of": draw(
            st.sampled_from(
                [
                    *("", "2026-11-22", "2026-02-30", "22/11/2026", "2026-1-5", "20261122"),
                    *(" 2026-11-22", "2026-11-22T00:00", "2026-11-22 00:00:00", "2026-11-22T01:00"),
                    *("2026-11-22T00:00:00Z", "2026-11-22T00", "2026-11-22t00:00:00.000+01:00"),
                ]
            )
        ),
    }


def record_accepts(row: dict[str, str]) -> bool:
    """Return whether SupplierRecord accepts the row, blank cells meaning 'not given'."""
    try:
        SupplierRecord.model_validate({k: v for k, v in row.items() if v != ""})
    except ValidationError:
        return False
    return True


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cells(), min_size=1, max_size=30))
def test_validate_frame_agrees_with_supplier_record(
    reference: Reference, rows: list[dict[str, str]]
) -> None:
    errors = validate_frame(pd.DataFrame(rows, dtype=object), reference).errors
    for row, error in zip(rows, errors.tolist(), strict=True):
        changed = {k: v for k, v in row.items() if v != VALID[k]}
        assert (error == "") == record_accepts(row), (changed, error)
