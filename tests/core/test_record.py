"""The supplier record: every bad input is refused with the field, the value and what is allowed."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest

from supplier_risk.errors import RecordError
from supplier_risk.record import (
    END_USES,
    LICENCE_ORDER,
    SUPPLIER_TYPE_ORDER,
    LabelledRecord,
    SupplierRecord,
    parse_record,
)
from tests.conftest import record_data

Make = Callable[..., SupplierRecord]


def refuse(match: str, **overrides: Any) -> None:
    """Assert that a record with these overrides is refused with a message matching ``match``."""
    with pytest.raises(RecordError, match=match):
        parse_record(record_data(**overrides))


def test_parse_record_accepts_the_contract_example() -> None:
    record = parse_record(record_data())
    assert record.supplier_id == "V-10023"
    assert record.as_of == dt.date(2026, 11, 22)


def test_parse_record_leaves_optional_fields_unset_when_missing() -> None:
    record = parse_record(
        record_data(
            supplier_name=None,
            china_share=None,
            alternate_suppliers=None,
            supplier_type=None,
            destination_country=None,
            as_of=None,
        )
    )
    assert record.china_share is None
    assert record.alternate_suppliers is None
    assert record.supplier_type is None
    assert record.destination_country is None
    assert record.as_of is None


def test_parse_record_refuses_unknown_field() -> None:
    refuse(
        r"inventory_days: unknown field \(value 30\); allowed fields: supplier_id",
        inventory_days=30,
    )


@pytest.mark.parametrize(
    "field", ["supplier_id", "material", "origin_country", "licence_type", "end_use",
              "inventory_buffer_days"]
)  # fmt: skip
def test_parse_record_refuses_missing_required_field(field: str) -> None:
    data = record_data()
    del data[field]
    with pytest.raises(RecordError, match=rf"^{field}: required, "):
        parse_record(data)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("licence_type", "Individual", "not_required, general, individual, pending, denied"),
        ("licence_type", "approved", "not_required, general, individual, pending, denied"),
        ("end_use", "military", ", ".join(END_USES)),
        ("end_use", "Defense", ", ".join(END_USES)),
        ("supplier_type", "trader", ", ".join(SUPPLIER_TYPE_ORDER)),
        ("supplier_type", "ESTABLISHED", ", ".join(SUPPLIER_TYPE_ORDER)),
    ],
)
def test_parse_record_refuses_value_outside_enum(field: str, value: str, allowed: str) -> None:
    refuse(rf"{field}: '{value}' is not allowed .*allowed: one of: {allowed}$", **{field: value})


@pytest.mark.parametrize("value", ["ndfeb", "NDFEB_MAGNET", "dysprosium", ""])
def test_parse_record_refuses_unknown_material(value: str) -> None:
    refuse(
        rf"material: '{value}' is not one of: la_ce_oxide, ndpr_oxide, .*yb_oxide", material=value
    )


@pytest.mark.parametrize("value", [*LICENCE_ORDER])
def test_parse_record_accepts_every_licence_type(value: str) -> None:
    assert parse_record(record_data(licence_type=value)).licence_type == value


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("china_share", 1.0001, "a number from 0 to 1"),
        ("china_share", -0.01, "a number from 0 to 1"),
        ("inventory_buffer_days", -1, "a number from 0 to 3650"),
        ("inventory_buffer_days", 3650.5, "a number from 0 to 3650"),
        ("alternate_suppliers", -1, "a whole number from 0 to 1000"),
        ("alternate_suppliers", 1001, "a whole number from 0 to 1000"),
    ],
)
def test_parse_record_refuses_number_out_of_bounds(field: str, value: float, allowed: str) -> None:
    refuse(rf"^{field}: {value} is not allowed \(.*\); allowed: {allowed}$", **{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [("china_share", 0.0), ("china_share", 1.0), ("inventory_buffer_days", 0),
     ("inventory_buffer_days", 3650), ("alternate_suppliers", 0), ("alternate_suppliers", 1000)],
)  # fmt: skip
def test_parse_record_accepts_bounds_inclusive(field: str, value: float) -> None:
    assert getattr(parse_record(record_data(**{field: value})), field) == value


@pytest.mark.parametrize("field", ["china_share", "inventory_buffer_days"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "inf"])
def test_parse_record_refuses_non_finite_number(field: str, value: object) -> None:
    refuse(
        rf"^{field}: '?{value}'? is not allowed \(Input should be a finite number\)",
        **{field: value},
    )


def test_parse_record_refuses_fractional_alternates() -> None:
    refuse(
        r"alternate_suppliers: 2.5 is not allowed .*fractional part.*whole number",
        alternate_suppliers=2.5,
    )


@pytest.mark.parametrize("field", ["china_share", "inventory_buffer_days", "alternate_suppliers"])
def test_parse_record_refuses_true_false_as_number(field: str) -> None:
    refuse(rf"^{field}: True is true/false, not a number; allowed: ", **{field: True})


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("inventory_buffer_days", "thirty", "Input should be a valid number"),
        ("inventory_buffer_days", [30], "Input should be a valid number"),
        ("china_share", {"x": 1}, "Input should be a valid number"),
        ("alternate_suppliers", "two", "Input should be a valid integer"),
        ("supplier_id", 10023, "Input should be a valid string"),
        ("supplier_name", 5, "Input should be a valid string"),
        ("licence_type", 2, "Input should be 'not_required'"),
        ("origin_country", 86, "Input should be a valid string"),
    ],
)
def test_parse_record_refuses_wrong_type(field: str, value: object, reason: str) -> None:
    refuse(rf"^{field}: .* is not allowed \({reason}", **{field: value})


@pytest.mark.parametrize(
    ("field", "value"), [("inventory_buffer_days", "30"), ("china_share", "0.5")]
)
def test_parse_record_accepts_numbers_written_as_text(field: str, value: str) -> None:
    assert getattr(parse_record(record_data(**{field: value})), field) == float(value)


def test_parse_record_refuses_empty_supplier_id() -> None:
    refuse(
        r"^supplier_id: '' is not allowed .*at least 1 character.*1 to 64 characters",
        supplier_id="",
    )


def test_parse_record_refuses_long_supplier_id() -> None:
    refuse(r"^supplier_id: 'xxxx.*\.\.\. is not allowed .*at most 64", supplier_id="x" * 65)


def test_parse_record_accepts_supplier_id_of_64_characters() -> None:
    assert parse_record(record_data(supplier_id="x" * 64)).supplier_id == "x" * 64


def test_parse_record_refuses_long_supplier_name() -> None:
    refuse(r"^supplier_name: .* is not allowed .*at most 200 characters", supplier_name="n" * 201)


@pytest.mark.parametrize(
    ("given", "stored"), [("cn", "CN"), ("Cn", "CN"), ("de", "DE"), (" jp ", "JP")]
)
def test_parse_record_reads_country_codes_in_any_case(given: str, stored: str) -> None:
    record = parse_record(record_data(origin_country=given, destination_country=given))
    assert record.origin_country == stored
    assert record.destination_country == stored


@pytest.mark.parametrize("field", ["origin_country", "destination_country"])
@pytest.mark.parametrize("value", ["XX", "zz", "CHN", "China", "C", "EU"])
def test_parse_record_refuses_unknown_country_code(field: str, value: str) -> None:
    refuse(rf"^{field}: '{value}' is not an ISO 3166-1 alpha-2 country code", **{field: value})


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30"])
def test_parse_record_refuses_impossible_date(value: str) -> None:
    refuse(rf"^as_of: '{value}' is not allowed .*allowed: a date YYYY-MM-DD$", as_of=value)


@pytest.mark.parametrize("value", ["22/11/2026", "yesterday", "2026-11-22T00:00:00", 0, 20261122])
def test_parse_record_refuses_date_not_in_iso_form(value: object) -> None:
    refuse(rf"^as_of: '?{value}'? is not a date YYYY-MM-DD$", as_of=value)


def test_parse_record_lists_every_problem() -> None:
    with pytest.raises(RecordError, match=r"china_share: 2 .*; end_use: 'war' .*; colour: unknown"):
        parse_record(record_data(china_share=2, end_use="war", colour="red"))


def test_parse_record_refuses_non_object() -> None:
    with pytest.raises(RecordError, match=r"^record: \[1, 2\] is not an object with the fields"):
        parse_record([1, 2])


def test_supplier_record_is_immutable(make_record: Make) -> None:
    record = make_record()
    with pytest.raises(ValueError, match="frozen"):
        record.china_share = 0.1  # type: ignore[misc]


def test_labelled_record_requires_as_of_and_label() -> None:
    with pytest.raises(ValueError, match="as_of"):
        LabelledRecord.model_validate({**record_data(as_of=None), "disrupted": 1})
    with pytest.raises(ValueError, match="disrupted"):
        LabelledRecord.model_validate({**record_data(), "disrupted": 2})


def test_parse_record_reads_negative_zero_as_zero() -> None:
    record = parse_record(record_data(inventory_buffer_days=-0.0, china_share=-0.0))
    assert math.copysign(1.0, record.inventory_buffer_days) == 1.0
    assert math.copysign(1.0, record.china_share or 0.0) == 1.0
