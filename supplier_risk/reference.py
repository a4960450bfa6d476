"""Reference data: the materials table, end-use sensitivities and the dated policy table.

The files live in ``supplier_risk/data`` and can be replaced by a directory of the user's
own (setting ``SUPPLIER_RISK_REFERENCE_DIR``); whether a material is controlled on a date
is a function of these tables alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from supplier_risk.errors import ReferenceDataError, first_problem
from supplier_risk.json_file import parse_json
from supplier_risk.policy_check import check_policy
from supplier_risk.record import END_USES, SupplierType

_M = TypeVar("_M", bound=BaseModel)

SENSITIVITY_LEVELS: tuple[str, ...] = ("low", "medium", "high", "critical")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Material(_Strict):
    """One row of the materials table."""

    code: str
    description: str
    elements: tuple[str, ...]
    control_list: str | None
    magnet: bool = False


class MaterialsTable(_Strict):
    """The materials file."""

    version: str
    source: str = ""
    materials: tuple[Material, ...]


class EndUseRow(_Strict):
    """One row of the end-use sensitivity table."""

    code: str
    sensitivity: str
    why: str = ""


class EndUseTable(_Strict):
    """The end-use sensitivity file."""

    version: str
    levels: tuple[str, ...]
    source: str = ""
    end_uses: tuple[EndUseRow, ...]


class Suspension(_Strict):
    """A period [from, until) in which a list or rule does not apply."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: dt.date = Field(alias="from")
    until: dt.date
    instrument: str = ""
    assumed: bool = False
    except_destinations: tuple[str, ...] = ()
    """buyers in these countries are not covered by the suspension (a targeted re-activation)"""

    def covers(self, day: dt.date, destination: str | None) -> bool:
        """Return whether this suspension applies to a buyer in ``destination`` on ``day``."""
        return self.start <= day < self.until and destination not in self.except_destinations


class Dated(_Strict):
    """Something with an announcement date, an in-force date and suspensions."""

    name: str
    instrument: str = ""
    what: str = ""
    announced: dt.date
    in_force: dt.date
    suspensions: tuple[Suspension, ...] = ()
    source: str = ""

    def in_force_on(self, day: dt.date, destination: str | None = None) -> bool:
        """Return whether this applies on ``day`` to a buyer in ``destination``."""
        if day < self.in_force:
            return False
        return not any(s.covers(day, destination) for s in self.suspensions)

    def assumed_suspension_on(
        self, day: dt.date, destination: str | None = None
    ) -> Suspension | None:
        """Return the assumed (not yet known) suspension covering ``day`` for a buyer, if any."""
        for suspension in self.suspensions:
            if suspension.assumed and suspension.covers(day, destination):
                return suspension
        return None

    def targeted_destinations(self) -> frozenset[str]:
        """Return the countries some suspension of this list or rule excepts."""
        return frozenset(c for s in self.suspensions for c in s.except_destinations)


class ControlList(Dated):
    """A dated list of controlled materials."""


RuleKind = Literal["extraterritorial", "destination_end_use_denial", "general_licence_revocation"]


class Rule(Dated):
    """A dated rule that is not a list of materials (extraterritorial reach, end-use bans).

    ``extraterritorial``: a magnet made outside China with at least ``threshold_china_share``
    Chinese content needs a licence (not_required becomes individual).
    ``destination_end_use_denial``: licensed exports for ``end_uses`` to buyers in
    ``destination_countries`` (every country when empty) are denied.
    ``general_licence_revocation``: general licences no longer cover shipments (individual).
    """

    kind: RuleKind
    threshold_china_share: float | None = None
    destination_countries: tuple[str, ...] = ()
    end_uses: tuple[str, ...] = ()


class GeneralLicences(_Strict):
    """When general licences were first granted, and to which kinds of supplier."""

    first_granted: dt.date
    holders: tuple[SupplierType, ...] = tuple(SupplierType)
    """the supplier types that can obtain one: recourse offers a general licence to no other"""
    note: str = ""


class PolicyTable(_Strict):
    """The dated policy table: control lists, rules and the assumptions it makes."""

    version: str
    assumptions: tuple[str, ...]
    control_lists: tuple[ControlList, ...]
    rules: tuple[Rule, ...] = ()
    general_licences: GeneralLicences | None = None

    def list_named(self, name: str) -> ControlList:
        """Return the control list called ``name``."""
        for control_list in self.control_lists:
            if control_list.name == name:
                return control_list
        raise ReferenceDataError(f"policy table has no control list {name!r}")

    def lists_in_force(self, day: dt.date, destination: str | None = None) -> frozenset[str]:
        """Return the names of the control lists in force on ``day`` for a buyer's country."""
        return frozenset(c.name for c in self.control_lists if c.in_force_on(day, destination))

    def targeted_destinations(self) -> frozenset[str]:
        """Return every country a suspension excepts (buyers there see the lifted measures)."""
        dated: list[Dated] = [*self.control_lists, *self.rules]
        return frozenset().union(*(d.targeted_destinations() for d in dated))

    def rules_in_force(self, day: dt.date) -> tuple[Rule, ...]:
        """Return the rules in force on ``day``."""
        return tuple(r for r in self.rules if r.in_force_on(day))


@dataclass(frozen=True)
class Reference:
    """All reference data, indexed for lookups."""

    materials: Mapping[str, Material]
    end_use_sensitivity: Mapping[str, str]
    policy: PolicyTable
    versions: Mapping[str, str] = field(default_factory=dict)
    what_ifs: Mapping[tuple[str, dt.date], str] = field(default_factory=dict)
    """per assumed suspension (list or rule name, its 'from'), a served scenario lifting it"""
    derived: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """What features.py derives from these tables per day, kept with the tables it came from."""

    def is_controlled(self, material: str, day: dt.date, destination: str | None = None) -> bool:
        """Return whether ``material`` is on a control list in force on ``day``."""
        control_list = self.materials[material].control_list
        in_force = self.policy.lists_in_force(day, destination)
        return control_list is not None and control_list in in_force

    def sensitivity_rank(self, end_use: str) -> int:
        """Return 0 (low) .. 3 (critical) for an end use."""
        return SENSITIVITY_LEVELS.index(self.end_use_sensitivity[end_use])

    def with_policy(self, policy: PolicyTable) -> Reference:
        """Return a copy of this reference data with another policy table."""
        versions = {**self.versions, "policy": policy.version}
        return Reference(self.materials, self.end_use_sensitivity, policy, versions, self.what_ifs)

    def with_what_ifs(self, what_ifs: Mapping[tuple[str, dt.date], str]) -> Reference:
        """Return a copy that knows which scenarios lift its assumed suspensions."""
        # A fresh cache: the notes derived so far were worded without these scenarios.
        return replace(self, what_ifs=what_ifs, derived={})


def _read(directory: Path | None, name: str) -> Any:
    path = directory / name if directory is not None else None
    try:
        if path is None:
            data = resources.files("supplier_risk").joinpath(f"data/{name}").read_bytes()
        else:
            data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ReferenceDataError(f"reference file {name} not found in {directory}") from exc
    except OSError as exc:
        raise ReferenceDataError(
            f"cannot read reference file {path or name}: {exc.strerror or exc}"
        ) from exc
    return parse_json(data, f"reference file {path or name}", ReferenceDataError)


def _parse(model: type[_M], data: Any, name: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ReferenceDataError(f"reference file {name}: {first_problem(exc.errors())}") from exc


def build_reference(
    materials: MaterialsTable,
    end_uses: EndUseTable,
    policy: PolicyTable,
    policy_source: str = "policy.json",
) -> Reference:
    """Cross-check and index the three tables (``policy_source`` names the policy file)."""
    list_names = {c.name for c in policy.control_lists}
    for material in materials.materials:
        if material.control_list is not None and material.control_list not in list_names:
            raise ReferenceDataError(
                f"material {material.code!r} names control list {material.control_list!r}, "
                f"which the policy table does not define (known: {sorted(list_names)})"
            )
    for row in end_uses.end_uses:
        if row.sensitivity not in SENSITIVITY_LEVELS:
            raise ReferenceDataError(
                f"end use {row.code!r} has sensitivity {row.sensitivity!r}; "
                f"allowed: {', '.join(SENSITIVITY_LEVELS)}"
            )
    rated = {r.code for r in end_uses.end_uses}
    unrated = [e for e in END_USES if e not in rated]
    if unrated:  # a record may carry any of them: each needs its sensitivity
        raise ReferenceDataError(
            f"end_uses.json rates no sensitivity for {', '.join(unrated)}; every end use a "
            f"record may carry needs one: {', '.join(END_USES)}"
        )
    check_policy(policy, rated, f"reference file {policy_source}")
    return Reference(
        materials={m.code: m for m in materials.materials},
        end_use_sensitivity={r.code: r.sensitivity for r in end_uses.end_uses},
        policy=policy,
        versions={
            "materials": materials.version,
            "end_uses": end_uses.version,
            "policy": policy.version,
        },
    )


def read_policy(path: Path) -> PolicyTable:
    """Read and validate a policy table file."""
    return _parse(PolicyTable, _read(path.parent, path.name), path.name)


@cache
def load_reference(directory: Path | None = None) -> Reference:
    """Load the reference data from ``directory`` (default: the shipped tables)."""
    materials = _parse(MaterialsTable, _read(directory, "materials.json"), "materials.json")
    end_uses = _parse(EndUseTable, _read(directory, "end_uses.json"), "end_uses.json")
    policy = _parse(PolicyTable, _read(directory, "policy.json"), "policy.json")
    source = "policy.json" if directory is None else str(directory / "policy.json")
    return build_reference(materials, end_uses, policy, source)
