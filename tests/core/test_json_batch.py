"""The column-wise JSON batch check agrees with SupplierRecord, row for row and value for value."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from supplier_risk.features import RecordColumns, columns_from_records
from supplier_risk.json_batch import CanonicalReader, code_items
from supplier_risk.record import SupplierRecord
from supplier_risk.reference import Reference
from tests.conftest import record_data

ODD: list[Any] = [None, True, False, [], {}, "", " ", float("nan"), float("inf"), -1, 10**30]
"""Values that are wrong (or at least not canonical) for most fields."""

VALUES: dict[str, list[Any]] = {
    "supplier_id": ["V-1", "x" * 64, "x" * 65, 7, "ü-ß"],
    "supplier_name": [None, "Acme", "n" * 200, "n" * 201, 3],
    "material": ["dy_oxide", "ndfeb_magnet", "Dy_oxide", "unobtainium"],
    "origin_country": ["CN", "MY", "cn", " de ", "XX", "CHN"],
    "china_share": [None, 0, 1, 0.5, 0.95, 1.5, -0.1, "0.5", 1e-9],
    "licence_type": ["general", "individual", "denied", "General", "none"],
    "end_use": ["defense", "medical", "military"],
    "inventory_buffer_days": [0, 30, 3650, 3650.5, 12.25, "30", "thirty", 1e300],
    "alternate_suppliers": [None, 0, 3, 1000, 1001, 2.0, 2.5, "3"],
    "supplier_type": [None, "smaller", "intermediary", "big"],
    "destination_country": [None, "DE", "us", "USA"],
    "as_of": [None, "2026-11-22", "2025-04-04", "2026-02-30", "22/11/2026", "2026-1-1", 20261122],
}

fields = st.sampled_from(sorted(VALUES))


@st.composite
def items(draw: st.DrawFn) -> Any:
    """Return a batch item: usually a valid record with a few fields changed, dropped or added."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from([None, [], "record", 3, [record_data()]]))
    item: dict[str, Any] = record_data()
    for _ in range(draw(st.integers(0, 3))):
        field = draw(fields)
        action = draw(st.integers(0, 9))
        if action == 0:
            item.pop(field, None)
        elif action == 1:
            item[field] = draw(st.sampled_from(ODD))
        else:
            item[field] = draw(st.sampled_from(VALUES[field]))
    if draw(st.integers(0, 29)) == 0:
        item["unknown_field"] = 1
    return item


def assert_same_columns(actual: RecordColumns, expected: RecordColumns) -> None:
    for name in RecordColumns.__dataclass_fields__:
        got, want = getattr(actual, name), getattr(expected, name)
        assert got.dtype == want.dtype, name
        if got.dtype.kind == "f":
            np.testing.assert_array_equal(got, want, err_msg=name)
        else:
            assert got.tolist() == want.tolist(), name


def by_record(batch: list[Any], reference: Reference) -> tuple[RecordColumns, list[int], list[int]]:
    """Return what validating each item with SupplierRecord gives: columns, valid and invalid."""
    records: list[SupplierRecord] = []
    valid: list[int] = []
    invalid: list[int] = []
    for index, item in enumerate(batch):
        try:
            records.append(SupplierRecord.model_validate(item))
            valid.append(index)
        except ValidationError:
            invalid.append(index)
    return columns_from_records(records, reference), valid, invalid


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(items(), max_size=12))
def test_code_items_agrees_with_supplier_record(reference: Reference, batch: list[Any]) -> None:
    columns, valid, invalid = by_record(batch, reference)
    coded = code_items(batch, reference)
    assert coded.indices == valid
    assert [index for index, _ in coded.invalid] == invalid
    assert_same_columns(coded.columns, columns)


def test_invalid_rows_carry_supplier_records_own_errors(reference: Reference) -> None:
    batch = [record_data(), record_data(china_share=True), record_data(end_use="war")]
    coded = code_items(batch, reference)
    assert coded.indices == [0]
    assert [index for index, _ in coded.invalid] == [1, 2]
    for index, exc in coded.invalid:
        with pytest.raises(ValidationError) as expected:
            SupplierRecord.model_validate(batch[index])
        assert exc.errors(include_context=False) == expected.value.errors(include_context=False)


def test_canonical_rows_skip_supplier_record_but_odd_valid_rows_are_normalised(
    reference: Reference,
) -> None:
    batch = [record_data(origin_country="cn", destination_country=" de "), record_data()]
    coded = code_items(batch, reference)
    assert coded.indices == [0, 1]
    assert coded.columns.origin_country.tolist() == ["CN", "CN"]
    assert coded.columns.destination_country.tolist() == ["DE", "DE"]


def test_empty_batch(reference: Reference) -> None:
    coded = code_items([], reference)
    assert len(coded.columns) == 0
    assert coded.indices == []
    assert coded.invalid == []


def test_code_items_reads_negative_zero_as_zero(reference: Reference) -> None:
    canonical = record_data(inventory_buffer_days=-0.0, china_share=-0.0)
    odd = record_data(inventory_buffer_days="-0.0", china_share="-0")  # via SupplierRecord
    columns = code_items([canonical, odd], reference).columns
    assert [str(v) for v in columns.buffer_days] == ["0.0", "0.0"]
    assert [str(v) for v in columns.china_share] == ["0.0", "0.0"]


def _fast(body: bytes, reference: Reference) -> tuple[RecordColumns, bool] | None:
    """Return what the one-pass decoder reads from a body, if it takes the body at all."""
    reader = CanonicalReader(reference)
    batch = reader.decode(body)
    if batch is None:
        return None
    return reader.columns(batch.suppliers), batch.explain


def assert_read_alike(body: bytes, reference: Reference) -> bool:
    """Check that a body the one-pass decoder takes reads as the column checks read it."""
    fast = _fast(body, reference)
    if fast is None:
        return False  # read the long way, as before
    columns, explain = fast
    envelope = json.loads(body)
    coded = code_items(envelope["suppliers"], reference)
    assert coded.invalid == []
    assert_same_columns(columns, coded.columns)
    assert explain is envelope.get("explain", True)
    return True


@pytest.mark.parametrize(
    ("field", "value"), [(f, v) for f in sorted(VALUES) for v in [*VALUES[f], *ODD, "<absent>"]]
)
def test_each_value_of_each_field_reads_alike_in_one_pass(
    reference: Reference, field: str, value: Any
) -> None:
    changed = record_data()
    if value == "<absent>":
        changed.pop(field, None)
    else:
        changed[field] = value
    # NaN and Infinity are written as such (not JSON), big integers as all their digits.
    assert_read_alike(json.dumps({"suppliers": [record_data(), changed]}).encode(), reference)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(items(), max_size=12),
    explain=st.sampled_from([True, False, None, None, "yes", 1]),
    extra=st.integers(0, 9),
)
def test_a_body_read_in_one_pass_reads_as_the_column_checks_read_it(
    reference: Reference, batch: list[Any], explain: Any, extra: int
) -> None:
    envelope: dict[str, Any] = {"suppliers": batch}
    if explain is not None:
        envelope["explain"] = explain
    if extra == 0:
        envelope["note"] = "x"
    assert_read_alike(json.dumps(envelope).encode(), reference)


@settings(max_examples=100, deadline=None)
@given(batch=st.lists(st.builds(record_data), max_size=12), explain=st.booleans())
def test_a_canonical_body_is_read_in_one_pass(
    reference: Reference, batch: list[Any], explain: bool
) -> None:
    fast = _fast(json.dumps({"suppliers": batch, "explain": explain}).encode(), reference)
    assert fast is not None
    assert_same_columns(fast[0], code_items(batch, reference).columns)


def test_a_repeated_key_reads_its_last_value_in_one_pass_too(reference: Reference) -> None:
    record = json.dumps(record_data(supplier_id="A"))
    body = f'{{"suppliers":[{record[:-1]},"supplier_id":"B"}}]}}'.encode()
    fast = _fast(body, reference)
    assert fast is not None
    assert fast[0].supplier_id.tolist() == ["B"]
    assert code_items(orjson.loads(body)["suppliers"], reference).columns.supplier_id.tolist() == [
        "B"
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"origin_country": "cn"},  # valid, but not canonical: SupplierRecord normalises it
        {"material": "unobtainium"},
        {"as_of": "2026-02-30"},
        {"alternate_suppliers": 2.0},
        {"china_share": True},
        {"supplier_id": ""},
        {"unknown_field": 1},
    ],
)
def test_a_body_with_one_record_off_the_canonical_form_goes_the_long_way(
    reference: Reference, change: dict[str, Any]
) -> None:
    body = json.dumps({"suppliers": [record_data(), {**record_data(), **change}]}).encode()
    assert _fast(body, reference) is None


@pytest.mark.parametrize("bad", [b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80"])
def test_a_body_that_is_not_utf8_goes_the_long_way_instead_of_raising(
    reference: Reference, bad: bytes
) -> None:
    # msgspec raises UnicodeDecodeError (not a MsgspecError) for such a string.
    reader = CanonicalReader(reference)
    body = json.dumps({"suppliers": [record_data(supplier_id="V-X")]}).encode()
    assert reader.decode(body.replace(b"V-X", b"V-" + bad)) is None
    assert reader.decode(body.replace(b'"material"', b'"mat' + bad + b'erial"')) is None
