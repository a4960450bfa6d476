"""The supplier record of CONTRACT.md section 1: one pydantic model for API, CSV and training."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any, TypedDict

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from supplier_risk.errors import RecordError


class LicenceType(StrEnum):
    """The Chinese export-licence status covering a supply, in the risk order of DOMAIN.md."""

    not_required = "not_required"
    general = "general"
    individual = "individual"
    pending = "pending"
    denied = "denied"


class EndUse(StrEnum):
    """The buyer's declared end use."""

    consumer_electronics = "consumer_electronics"
    industrial = "industrial"
    medical = "medical"
    automotive = "automotive"
    renewable_energy = "renewable_energy"
    semiconductor = "semiconductor"
    aerospace = "aerospace"
    defense = "defense"


class SupplierType(StrEnum):
    """What kind of firm the supplier is."""

    established = "established"
    smaller = "smaller"
    intermediary = "intermediary"


LICENCE_ORDER: tuple[str, ...] = tuple(m.value for m in LicenceType)
SUPPLIER_TYPE_ORDER: tuple[str, ...] = tuple(m.value for m in SupplierType)
END_USES: tuple[str, ...] = tuple(m.value for m in EndUse)

CHINA_SHARE_BOUNDS = (0.0, 1.0)
BUFFER_DAYS_BOUNDS = (0.0, 3650.0)
ALTERNATES_BOUNDS = (0, 1000)
SUPPLIER_ID_MAX = 64
SUPPLIER_NAME_MAX = 200

RECORD_FIELDS: tuple[str, ...] = (
    "supplier_id",
    "supplier_name",
    "material",
    "origin_country",
    "china_share",
    "licence_type",
    "end_use",
    "inventory_buffer_days",
    "alternate_suppliers",
    "supplier_type",
    "destination_country",
    "as_of",
)
REQUIRED_FIELDS: tuple[str, ...] = (
    "supplier_id",
    "material",
    "origin_country",
    "licence_type",
    "end_use",
    "inventory_buffer_days",
)


@cache
def country_codes() -> frozenset[str]:
    """Return the ISO 3166-1 alpha-2 codes shipped in the package data."""
    text = resources.files("supplier_risk").joinpath("data/countries.json").read_text("utf-8")
    return frozenset(json.loads(text)["countries"])


@cache
def material_codes() -> tuple[str, ...]:
    """Return the material codes of the shipped materials table."""
    from supplier_risk.reference import load_reference

    return tuple(load_reference().materials)


@cache
def _material_set() -> frozenset[str]:
    """Return material_codes() as a set, for the per-record membership test."""
    return frozenset(material_codes())


class MaterialContext(TypedDict):
    """Validation context naming the materials a served reference table knows."""

    materials: frozenset[str]
    listed: str


def material_context(codes: Iterable[str]) -> MaterialContext:
    """Return the context that makes SupplierRecord check materials against ``codes``.

    Without it a record is checked against the shipped materials table; the service passes
    the table it actually serves (SUPPLIER_RISK_REFERENCE_DIR), as the CSV path does.
    """
    ordered = tuple(codes)
    return {"materials": frozenset(ordered), "listed": ", ".join(ordered)}


def normalise_country(value: object, field: str) -> str:
    """Return an upper-case ISO alpha-2 code or raise ValueError naming what is allowed."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, an ISO 3166-1 alpha-2 code such as 'CN'")
    code = value.strip().upper()
    if code not in country_codes():
        shown = value if len(value) <= 20 else value[:20] + "..."
        raise ValueError(
            f"{field} {shown!r} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. 'CN')"
        )
    return code


def default_china_share(origin_country: str) -> float:
    """Return the contract's default china_share for an origin country."""
    return 1.0 if origin_country == "CN" else 0.5


EXAMPLE_RECORD: dict[str, Any] = {
    "supplier_id": "V-10023",
    "supplier_name": "Example Magnets Co.",
    "material": "ndfeb_magnet_heavy",
    "origin_country": "CN",
    "china_share": 0.95,
    "licence_type": "individual",
    "end_use": "automotive",
    "inventory_buffer_days": 30,
    "alternate_suppliers": 0,
    "supplier_type": "established",
    "destination_country": "DE",
    "as_of": "2026-11-22",
}
"""A valid record with every field: the OpenAPI example and the tests' base record."""

SupplierId = Annotated[str, Field(min_length=1, max_length=SUPPLIER_ID_MAX)]
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_SHOWN = 40


def _not_a_flag(value: object, field: str) -> object:
    """Reject true/false where a number is expected (pydantic would read True as 1)."""
    if isinstance(value, bool):
        raise ValueError(f"{field} {value!r} is true/false, not a number")
    return value


COUNTRY_SCHEMA: dict[str, JsonValue] = {"pattern": "^[A-Za-z]{2}$", "examples": ["CN"]}
"""What the JSON Schema says of a country code; the validator checks it is a known one."""


class SupplierRecord(BaseModel):
    """One supplier of a supplier list, exactly as CONTRACT.md section 1 defines it."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    supplier_id: SupplierId
    supplier_name: Annotated[str, Field(max_length=SUPPLIER_NAME_MAX)] | None = None
    material: str
    origin_country: Annotated[str, Field(json_schema_extra=COUNTRY_SCHEMA)]
    china_share: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    licence_type: LicenceType
    end_use: EndUse
    inventory_buffer_days: Annotated[float, Field(ge=0.0, le=3650.0)]
    alternate_suppliers: Annotated[int, Field(ge=0, le=1000)] | None = None
    supplier_type: SupplierType | None = None
    destination_country: Annotated[str, Field(json_schema_extra=COUNTRY_SCHEMA)] | None = None
    as_of: dt.date | None = None

    @field_validator("material")
    @classmethod
    def _known_material(cls, value: str, info: ValidationInfo) -> str:
        # The served reference data may have its own materials table: see material_context.
        served: MaterialContext | None = info.context
        allowed = _material_set() if served is None else served["materials"]
        if value not in allowed:
            shown = value if len(value) <= 40 else value[:40] + "..."
            listed = ", ".join(material_codes()) if served is None else served["listed"]
            raise ValueError(f"material {shown!r} is not one of: {listed}")
        return value

    # One validator per number field: one that reads the field's name from a ValidationInfo
    # costs pydantic-core that object on every call.
    @field_validator("china_share", mode="before")
    @classmethod
    def _share_not_flag(cls, value: Any) -> Any:
        return _not_a_flag(value, "china_share")

    @field_validator("inventory_buffer_days", mode="before")
    @classmethod
    def _buffer_not_flag(cls, value: Any) -> Any:
        return _not_a_flag(value, "inventory_buffer_days")

    @field_validator("china_share", "inventory_buffer_days")
    @classmethod
    def _positive_zero(cls, value: float | None) -> float | None:
        # -0.0 passes ge=0 but would be worded "-0 days"; adding 0.0 changes no other number.
        return None if value is None else value + 0.0

    @field_validator("alternate_suppliers", mode="before")
    @classmethod
    def _alternates_not_flag(cls, value: Any) -> Any:
        return _not_a_flag(value, "alternate_suppliers")

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        # pydantic would read a number as a Unix timestamp and accept datetimes; the contract
        # says YYYY-MM-DD.
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
            return value
        raise ValueError(f"as_of {_shown(value)} is not a date YYYY-MM-DD")

    @field_validator("origin_country")
    @classmethod
    def _origin_code(cls, value: Any) -> str:
        return normalise_country(value, "origin_country")

    @field_validator("destination_country")
    @classmethod
    def _destination_code(cls, value: Any) -> str | None:
        return None if value is None else normalise_country(value, "destination_country")


class LabelledRecord(SupplierRecord):
    """A supplier record of a training file: as_of is required and the label is attached."""

    as_of: dt.date
    disrupted: Annotated[int, Field(ge=0, le=1)]


def allowed_values(field: str, served: MaterialContext | None = None) -> str:
    """Return, in words, what a record field allows (materials: of the served table, if given)."""
    if field == "material" and served is not None:
        return "one of: " + served["listed"]
    allowed = {
        "supplier_id": f"a string of 1 to {SUPPLIER_ID_MAX} characters",
        "supplier_name": f"a string of up to {SUPPLIER_NAME_MAX} characters",
        "material": "one of: " + ", ".join(material_codes()),
        "origin_country": "an ISO 3166-1 alpha-2 country code such as 'CN' (any case)",
        "china_share": "a number from 0 to 1",
        "licence_type": "one of: " + ", ".join(LICENCE_ORDER),
        "end_use": "one of: " + ", ".join(END_USES),
        "inventory_buffer_days": "a number from 0 to 3650",
        "alternate_suppliers": "a whole number from 0 to 1000",
        "supplier_type": "one of: " + ", ".join(SUPPLIER_TYPE_ORDER),
        "destination_country": "an ISO 3166-1 alpha-2 country code such as 'DE' (any case)",
        "as_of": "a date YYYY-MM-DD",
        "disrupted": "0 or 1",
    }
    return allowed.get(field, "")


def _shown(value: object) -> str:
    """Return a value quoted for a message, cut to MAX_SHOWN characters."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def describe_errors(exc: ValidationError) -> list[str]:
    """Return one message per problem, each naming the field, the value and what is allowed."""
    messages = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        field = str(loc[0]) if loc else "record"
        reason = str(error["msg"]).removeprefix("Value error, ")
        kind = error["type"]
        if kind == "extra_forbidden":
            messages.append(
                f"{field}: unknown field (value {_shown(error['input'])}); allowed fields: "
                + ", ".join(RECORD_FIELDS)
            )
        elif kind == "missing":
            messages.append(f"{field}: required, {allowed_values(field)}")
        elif not loc:
            messages.append(
                f"record: {_shown(error['input'])} is not an object with the fields "
                + ", ".join(RECORD_FIELDS)
            )
        elif kind == "value_error":
            # our own validators already name the field and the value, most also what is allowed
            reason = reason.removeprefix(f"{field} ")
            allowed = allowed_values(field)
            tail = "" if allowed in reason else f"; allowed: {allowed}"
            messages.append(f"{field}: {reason}{tail}")
        else:
            messages.append(
                f"{field}: {_shown(error['input'])} is not allowed ({reason}); "
                f"allowed: {allowed_values(field)}"
            )
    return messages


def parse_record(data: Mapping[str, Any] | object) -> SupplierRecord:
    """Validate one record; raise RecordError whose message lists every problem."""
    try:
        return SupplierRecord.model_validate(data)
    except ValidationError as exc:
        raise RecordError("; ".join(describe_errors(exc))) from None
