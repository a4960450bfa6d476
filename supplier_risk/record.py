"""The supplier record of CONTRACT.md section 1: one pydantic model for API, CSV and training."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


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


SupplierId = Annotated[str, Field(min_length=1, max_length=SUPPLIER_ID_MAX)]


class SupplierRecord(BaseModel):
    """One supplier of a supplier list, exactly as CONTRACT.md section 1 defines it."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    supplier_id: SupplierId
    supplier_name: Annotated[str, Field(max_length=SUPPLIER_NAME_MAX)] | None = None
    material: str
    origin_country: str
    china_share: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    licence_type: LicenceType
    end_use: EndUse
    inventory_buffer_days: Annotated[float, Field(ge=0.0, le=3650.0)]
    alternate_suppliers: Annotated[int, Field(ge=0, le=1000)] | None = None
    supplier_type: SupplierType | None = None
    destination_country: str | None = None
    as_of: dt.date | None = None

    @field_validator("material")
    @classmethod
    def _known_material(cls, value: str) -> str:
        allowed = material_codes()
        if value not in allowed:
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise ValueError(f"material {shown!r} is not one of: {', '.join(allowed)}")
        return value

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
