"""Supplier records and reference data in, model inputs out: the only place features are derived.

Both the HTTP service and training go through :func:`derive_features`, so the two cannot drift
apart. Records arrive as :class:`RecordColumns` (categorical fields already coded as integers),
which the pydantic path (:func:`columns_from_records`) and the vectorised CSV path both build.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel

from supplier_risk.factorize import factorized
from supplier_risk.record import (
    END_USES,
    LICENCE_ORDER,
    SUPPLIER_TYPE_ORDER,
    SupplierRecord,
)
from supplier_risk.reference import SENSITIVITY_LEVELS, Dated, Reference

FEATURE_NAMES: tuple[str, ...] = (
    "china_share",
    "licence_type",
    "end_use",
    "inventory_buffer_days",
    "alternate_suppliers",
    "supplier_type",
    "controlled",
)
"""Model inputs, in column order. Categorical inputs are ordinal codes:
licence_type by LICENCE_ORDER, end_use by sensitivity rank (low 0 .. critical 3),
supplier_type by SUPPLIER_TYPE_ORDER, controlled 0/1."""

MONOTONE: dict[str, int] = {
    "china_share": 1,
    "licence_type": 1,
    "end_use": 1,
    "inventory_buffer_days": -1,
    "alternate_suppliers": -1,
    "supplier_type": 0,
    "controlled": 1,
}
"""Direction each input may move the risk in (DOMAIN.md 'What the model should learn')."""

FEATURE_LEVELS: dict[str, tuple[str, ...]] = {
    "licence_type": LICENCE_ORDER,
    "end_use": SENSITIVITY_LEVELS,
    "supplier_type": SUPPLIER_TYPE_ORDER,
    "controlled": ("no", "yes"),
}
"""The label of code 0, 1, ... of each coded input."""


def feature_kind(name: str) -> str:
    """Return how an input is coded: numeric, ordinal (FEATURE_LEVELS) or binary."""
    if name == "controlled":
        return "binary"
    return "ordinal" if name in FEATURE_LEVELS else "numeric"


LICENCE_INDIVIDUAL = LICENCE_ORDER.index("individual")
LICENCE_DENIED = LICENCE_ORDER.index("denied")
LICENCE_NOT_REQUIRED = LICENCE_ORDER.index("not_required")
LICENCE_GENERAL = LICENCE_ORDER.index("general")
CONTROLLED_NEEDS_LICENCE = "controlled_export_needs_licence"
"""Built-in rule: exports of a controlled material from China need a licence (Announcement No. 18
for the April 2025 list; No. 57 for the October 2025 list when the table has it in force)."""
DOMESTIC_SALE = "domestic_sale_needs_no_export_licence"
"""Built-in rule: a sale from China to a buyer in China is no export, so no licence applies."""
MISSING_CODE = -1

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
ObjArray = NDArray[np.object_]
DateArray = NDArray[np.datetime64]


@dataclass(frozen=True)
class RecordColumns:
    """Validated supplier records, column by column, categorical fields as integer codes."""

    supplier_id: ObjArray
    material: IntArray
    """index into the reference materials table, in file order"""
    origin_country: ObjArray
    china_share: FloatArray
    """NaN where not given"""
    licence: IntArray
    """index into LICENCE_ORDER"""
    end_use: IntArray
    """index into END_USES"""
    buffer_days: FloatArray
    alternates: FloatArray
    """NaN where not given"""
    supplier_type: IntArray
    """index into SUPPLIER_TYPE_ORDER, -1 where not given"""
    destination_country: ObjArray
    """None where not given"""
    as_of: DateArray
    """datetime64[D], NaT where not given"""

    def __len__(self) -> int:
        return int(self.material.shape[0])

    def take(self, rows: IntArray) -> RecordColumns:
        """Return the given rows."""
        return RecordColumns(**{k: getattr(self, k)[rows] for k in self.__dataclass_fields__})

    def replace(self, **columns: NDArray[np.generic]) -> RecordColumns:
        """Return a copy with some columns replaced."""
        current = {k: getattr(self, k) for k in self.__dataclass_fields__}
        current.update(columns)
        return RecordColumns(**current)


@dataclass(frozen=True)
class Features:
    """Model inputs for a batch of records, with what was assumed to get them."""

    matrix: FloatArray
    """shape (n, len(FEATURE_NAMES))"""
    as_of: DateArray
    china_share_defaulted: NDArray[np.bool_]
    alternates_defaulted: NDArray[np.bool_]
    supplier_type_defaulted: NDArray[np.bool_]
    as_of_defaulted: NDArray[np.bool_]
    licence_given: IntArray
    rule_applied: ObjArray
    """name of the policy rule that raised the licence status, or None"""
    destination_unknown_rule: ObjArray
    """name of a rule that could apply if destination_country were known, or None"""
    policy_note: ObjArray
    """per row, the policy-table assumption its score rests on, or None"""


def columns_from_records(records: Sequence[SupplierRecord], reference: Reference) -> RecordColumns:
    """Code a list of validated records as columns."""
    material_index = {code: i for i, code in enumerate(reference.materials)}
    licence_index = {v: i for i, v in enumerate(LICENCE_ORDER)}
    end_use_index = {v: i for i, v in enumerate(END_USES)}
    type_index = {v: i for i, v in enumerate(SUPPLIER_TYPE_ORDER)}
    n = len(records)
    nan = float("nan")
    return RecordColumns(
        supplier_id=np.array([r.supplier_id for r in records], dtype=object),
        material=np.fromiter((material_index[r.material] for r in records), np.int64, n),
        origin_country=np.array([r.origin_country for r in records], dtype=object),
        china_share=np.fromiter(
            (nan if r.china_share is None else r.china_share for r in records), np.float64, n
        ),
        licence=np.fromiter((licence_index[r.licence_type] for r in records), np.int64, n),
        end_use=np.fromiter((end_use_index[r.end_use] for r in records), np.int64, n),
        buffer_days=np.fromiter((r.inventory_buffer_days for r in records), np.float64, n),
        alternates=np.fromiter(
            (nan if r.alternate_suppliers is None else r.alternate_suppliers for r in records),
            np.float64,
            n,
        ),
        supplier_type=np.fromiter(
            (
                MISSING_CODE if r.supplier_type is None else type_index[r.supplier_type]
                for r in records
            ),
            np.int64,
            n,
        ),
        destination_country=np.array([r.destination_country for r in records], dtype=object),
        as_of=np.array(
            [
                np.datetime64("NaT") if r.as_of is None else np.datetime64(r.as_of, "D")
                for r in records
            ],
            dtype="datetime64[D]",
        ),
    )


@dataclass(frozen=True)
class _DayPolicy:
    """What the policy table says for buyers in one country (or anywhere).

    For one day each array is indexed [material] or [rule], in table order; for the days of a
    batch (:func:`_day_tables`), [day, material] or [day, rule].
    """

    controlled: NDArray[np.bool_]
    rules_active: NDArray[np.bool_]
    notes: ObjArray
    """the assumption a material's controlled flag rests on, or None"""
    rule_notes: ObjArray
    """the assumption that a rule does not apply, or None"""
    rule_ahead: ObjArray
    """a rule's coming into force (or suspension) within the horizon, or None"""


DOMESTIC_NOTE = (
    "origin_country and destination_country CN: a sale inside China, which China's export "
    "controls do not cover; scored as not controlled and needing no export licence"
)

MAX_CACHED_DAYS = 20_000
"""Day x destination entries kept per reference; about 27 years of days for one destination."""


def _day_policy(reference: Reference, day: dt.date, destination: str | None) -> _DayPolicy:
    """Return the policy table's answers for one day (cached on the reference data)."""
    key = ("day_policy", day, destination)
    cached: _DayPolicy | None = reference.derived.get(key)
    if cached is not None:
        return cached
    policy = reference.policy
    in_force = policy.lists_in_force(day, destination)
    materials = list(reference.materials.values())
    lists = {c.name: c for c in policy.control_lists}
    notes = np.full(len(materials), None, dtype=object)
    for i, material in enumerate(materials):
        control_list = lists.get(material.control_list or "")
        if control_list is not None:
            said = [
                _assumption_note(reference, control_list, day, destination),
                _change_ahead_note(control_list, day, destination),
            ]
            notes[i] = NOTES_APART.join(s for s in said if s is not None) or None
    rule_notes = np.array(
        [_assumption_note(reference, r, day, destination) for r in policy.rules], dtype=object
    )
    cached = _DayPolicy(
        controlled=np.array(
            [m.control_list is not None and m.control_list in in_force for m in materials],
            dtype=bool,
        ),
        rules_active=np.array([r.in_force_on(day, destination) for r in policy.rules], dtype=bool),
        notes=notes,
        rule_notes=rule_notes,
        rule_ahead=np.array(
            [_change_ahead_note(r, day, destination) for r in policy.rules], dtype=object
        ),
    )
    if len(reference.derived) < MAX_CACHED_DAYS:
        reference.derived[key] = cached
    return cached


NOTES_APART = "\n"
"""Between the policy notes of one row: each is an assumption line (and a summary entry)."""

HORIZON_DAYS = 90
"""The days ahead a score speaks for: the probability of a disruption within the next 90."""


def _dates_in(value: object) -> Iterator[dt.date]:
    """Yield every date anywhere inside a pydantic model, tuple or mapping."""
    if isinstance(value, dt.date):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _dates_in(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _dates_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _dates_in(item)


def policy_boundaries(reference: Reference) -> NDArray[np.datetime64]:
    """Return the days on which an answer of the policy table may change, sorted (cached).

    Every date the table names, and each HORIZON_DAYS before it (where a note of the change
    ahead starts). Between two of them, from one up to the day before the next, every answer
    (in force or not, rules, notes) is the same: scores are derived once per such span.
    """
    key = ("policy_boundaries",)
    cached: NDArray[np.datetime64] | None = reference.derived.get(key)
    if cached is None:
        dates = set(_dates_in(reference.policy))
        ahead = {d - dt.timedelta(days=HORIZON_DAYS) for d in dates}
        cached = reference.derived[key] = np.array(sorted(dates | ahead), dtype="datetime64[D]")
    return cached


def share_thresholds(reference: Reference) -> NDArray[np.float64]:
    """Return the China shares at which a rule of the policy table starts to apply, sorted.

    The share enters the policy part of the features only through these: records on the same
    side of each are derived alike.
    """
    rules = reference.policy.rules
    found = {r.threshold_china_share for r in rules if r.threshold_china_share is not None}
    return np.array(sorted(found), dtype=np.float64)


def _span_days(
    as_of: NDArray[np.datetime64], reference: Reference
) -> tuple[list[dt.date], IntArray]:
    """Return a day of each policy span the rows fall in, and each row's index into them."""
    edges = policy_boundaries(reference)
    # The spans present and each row's place among them (a few codes: counted, not sorted).
    row_span, spans = factorized(np.searchsorted(edges, as_of, side="right"))
    # A span's first day; before the first boundary, the day before it. With no boundary
    # there is one span, all time, and any row's day speaks for it.
    starts = (
        np.concatenate([edges[:1] - np.timedelta64(1, "D"), edges]) if edges.size else as_of[:1]
    )
    days: list[dt.date] = starts[spans].astype(object).tolist()
    return days, row_span.reshape(-1)


def _turning_days(dated: Dated) -> Iterator[dt.date]:
    """Yield the days on which a list or rule may come into or go out of force."""
    yield dated.in_force
    for suspension in dated.suspensions:
        yield suspension.start
        yield suspension.until


def _change_ahead_note(dated: Dated, day: dt.date, destination: str | None) -> str | None:
    """Return a note when a list comes into or goes out of force within the score's horizon.

    The model scores the status on ``day``; a change announced for the coming weeks is what a
    buyer most needs to hear of. The note names no row's own date: the one-record path caches
    notes per span of days, and a span ends HORIZON_DAYS before each turning day.
    """
    now = dated.in_force_on(day, destination)
    end = day + dt.timedelta(days=HORIZON_DAYS)
    for turn in sorted(d for d in set(_turning_days(dated)) if day < d <= end):
        if dated.in_force_on(turn, destination) != now:
            change = (
                "stops applying (suspended)" if now else "comes into force"
            ) + f" on {turn.isoformat()}"
            return (
                f"{dated.name} {change}, within the {HORIZON_DAYS} days this score covers; "
                f"it is scored by the policy on its as_of: rescore with as_of "
                f"{turn.isoformat()} to see the change"
            )
    return None


def _assumption_note(
    reference: Reference, dated: Dated, day: dt.date, destination: str | None
) -> str | None:
    """Return what the policy table assumes about a list or rule on ``day``, if anything."""
    suspension = dated.assumed_suspension_on(day, destination)
    if suspension is None:
        return None
    # Name a scenario only if the served book has one lifting this very suspension.
    lifting = reference.what_ifs.get((dated.name, suspension.start))
    see = (
        f"see the scenario {lifting}"
        if lifting is not None
        else "see GET /v1/scenarios or `supplier-risk scenarios` for what-ifs"
    )
    return (
        f"policy table {reference.policy.version} assumes {dated.name} stays suspended until "
        f"{suspension.until.isoformat()} ({suspension.instrument}); {see}"
    )


def _day_tables(reference: Reference, days: list[dt.date], destination: str | None) -> _DayPolicy:
    """Return the policy table's answers for each of ``days``."""
    answers = [_day_policy(reference, day, destination) for day in days]
    if not answers:
        n_materials, n_rules = len(reference.materials), len(reference.policy.rules)
        return _DayPolicy(
            controlled=np.zeros((0, n_materials), dtype=bool),
            rules_active=np.zeros((0, n_rules), dtype=bool),
            notes=np.full((0, n_materials), None, dtype=object),
            rule_notes=np.full((0, n_rules), None, dtype=object),
            rule_ahead=np.full((0, n_rules), None, dtype=object),
        )
    # One stack per table: a batch can span hundreds of days.
    return _DayPolicy(
        controlled=np.array([a.controlled for a in answers], dtype=bool),
        rules_active=np.array([a.rules_active for a in answers], dtype=bool),
        notes=np.array([a.notes for a in answers], dtype=object),
        rule_notes=np.array([a.rule_notes for a in answers], dtype=object),
        rule_ahead=np.array([a.rule_ahead for a in answers], dtype=object),
    )


_Cell = TypeVar("_Cell", np.bool_, np.object_)


class _Destinations:
    """A batch's destination countries, coded once for the membership tests of every rule."""

    def __init__(self, destination: ObjArray) -> None:
        codes, names = pd.factorize(destination)  # None: -1
        self._codes = codes
        self._index = {name: i for i, name in enumerate(names.tolist())}
        self.missing: NDArray[np.bool_] = codes == -1

    def among(self, countries: Iterable[str]) -> NDArray[np.bool_]:
        """Return, per row, whether the destination is one of ``countries``."""
        table = np.zeros(len(self._index) + 1, dtype=bool)  # the last for None (code -1)
        table[[self._index[c] for c in countries if c in self._index]] = True
        return table[self._codes]


def _per_row(
    general: NDArray[_Cell],
    targeted: dict[str, NDArray[_Cell]],
    destination: _Destinations,
    index: tuple[IntArray, ...],
) -> NDArray[_Cell]:
    """Look a day-indexed table up per row, using a country's own table for its buyers."""
    out = general[index]
    for country, table in targeted.items():
        rows = destination.among((country,))
        if rows.any():
            out[rows] = table[tuple(i[rows] for i in index)]
    return out


def _one_of(codes: Sequence[str], chosen: Iterable[str]) -> NDArray[np.bool_]:
    """Return, per code's index, whether it is one of ``chosen`` (a table to index by codes)."""
    table = np.zeros(len(codes), dtype=bool)
    table[[codes.index(c) for c in chosen]] = True
    return table


def general_licences_granted(as_of: DateArray, reference: Reference) -> NDArray[np.bool_]:
    """Return, per day, whether general licences had been granted by then."""
    licences = reference.policy.general_licences
    if licences is None:  # a policy table that does not say: nothing to hold against a record
        return np.ones(as_of.shape, dtype=bool)
    return np.asarray(as_of >= np.datetime64(licences.first_granted, "D"), dtype=bool)


def general_licence_within_reach(
    as_of: DateArray, supplier_type: NDArray[np.float64] | IntArray, reference: Reference
) -> NDArray[np.bool_]:
    """Return, per record, whether its supplier could hold a general licence on its date.

    ``supplier_type`` holds the codes as scored (defaults filled), as the feature matrix has them.
    """
    granted = general_licences_granted(as_of, reference)
    licences = reference.policy.general_licences
    if licences is None:
        return granted
    holder = _one_of(SUPPLIER_TYPE_ORDER, licences.holders)
    return granted & holder[np.asarray(supplier_type, dtype=np.int64)]


def _add_notes(
    said: ObjArray, rows: NDArray[np.bool_], notes: ObjArray | str, apart: str = NOTES_APART
) -> None:
    """Add to what the selected rows already say each row's note (None: nothing), or one text."""
    # The selected rows are few: looked at one by one, not the whole object array compared.
    for i in np.flatnonzero(rows).tolist():
        note, known = notes if isinstance(notes, str) else notes[i], said[i]
        if note is not None:
            said[i] = note if known is None else f"{known}{apart}{note}"


def _note_doubtful_general_licences(
    columns: RecordColumns,
    as_of: NDArray[np.datetime64],
    supplier_type: IntArray,
    licence: IntArray,
    reference: Reference,
    notes: ObjArray,
    domestic: NDArray[np.bool_],
) -> None:
    """Add a note to rows claiming a general licence the policy table says they could not hold.

    Before the first were granted, or for a kind of supplier the table does not name as a
    holder (DOMAIN.md: smaller firms and traders stayed on individual licences). The record is
    scored as given unless a rule changed its licence (``licence``: as scored); the note asks
    for a check. It names no row's own date: the one-record path caches notes per span of dates.
    """
    policy = reference.policy
    licences = policy.general_licences
    if licences is None:  # a policy table that does not say
        return
    first = licences.first_granted
    # A sale inside China is scored as needing no licence: the one it gives is not checked.
    claimed = (columns.licence == LICENCE_GENERAL) & ~domestic
    early = claimed & ~general_licences_granted(as_of, reference)
    _add_notes(
        notes,
        early,
        f"licence_type general with as_of before {first.isoformat()}, when the first general "
        f"licences were granted (policy table {policy.version}): check the record",
    )
    # Past the first grants, the one predicate recourse reads says who could hold one.
    outside = claimed & ~early & ~general_licence_within_reach(as_of, supplier_type, reference)
    # A rule may have scored it otherwise (an end-use ban, a revocation): its own line says so.
    as_given = licence == LICENCE_GENERAL
    for code in np.unique(supplier_type[outside]).tolist():
        said = (
            f"licence_type general for a supplier_type {SUPPLIER_TYPE_ORDER[code]}: general "
            f"licences went to {' and '.join(licences.holders)} exporters first, others stayed "
            f"on individual licences (policy table {policy.version})"
        )
        of_type = outside & (supplier_type == code)
        _add_notes(notes, of_type & as_given, f"{said}; scored as given, check the record")
        _add_notes(notes, of_type & ~as_given, f"{said}: check the record")


def _ahead_for_buyers_in(
    countries: list[tuple[str, ObjArray]], rows: NDArray[np.bool_]
) -> ObjArray:
    """Return, per row, a record without a destination's notes of a rule's change ahead.

    Each of the rule's countries comes with the note a buyer there would get, per row (or
    None); countries with the same note are named together. The rescore the note names shows
    the change only with such a buyer's destination_country.
    """
    out = np.full(rows.size, None, dtype=object)
    noted = np.zeros(rows.size, dtype=bool)
    for _, notes in countries:
        noted |= notes != None  # noqa: E711 (elementwise on an object array)
    for i in np.flatnonzero(noted & rows).tolist():  # most rows have no change ahead
        said: dict[str, list[str]] = {}
        for country, notes in countries:
            if notes[i] is not None:
                said.setdefault(notes[i], []).append(country)
        out[i] = NOTES_APART.join(
            f"destination_country not given: for a buyer in {' or '.join(where)}, {note} "
            f"(with destination_country {' or '.join(where)})"
            for note, where in said.items()
        )
    return out


def _told_as_buyer_in(
    country: str,
    columns: RecordColumns,
    rows: NDArray[np.bool_],
    notes_by_day: ObjArray,
    day_index: IntArray,
    reference: Reference,
    today: dt.date,
) -> ObjArray:
    """Return, per row, the change-ahead note a buyer in ``country`` would get, or None.

    For a country whose buyers have tables of their own (a suspension excepts them), their
    controlled flags and licences differ from those of a record without a destination: the
    rows with a note ahead on their day are derived again as such a buyer's, and a row is told
    the note where that buyer would be.
    """
    out = np.full(len(columns), None, dtype=object)
    asked = np.flatnonzero(rows & (notes_by_day != None)[day_index])  # noqa: E711
    if asked.size == 0:
        return out
    there = columns.take(asked).replace(
        destination_country=np.full(asked.size, country, dtype=object)
    )
    told = derive_features(there, reference, today).policy_note
    for j, i in enumerate(asked.tolist()):
        note = notes_by_day[day_index[i]]
        if note in (told[j] or "").split(NOTES_APART):
            out[i] = note
    return out


def derive_features(columns: RecordColumns, reference: Reference, today: dt.date) -> Features:
    """Turn coded records into the model's input matrix, filling defaults and applying rules."""
    n = len(columns)
    as_of_missing = np.isnat(columns.as_of)
    as_of = np.where(as_of_missing, np.datetime64(today, "D"), columns.as_of)
    day_list, day_index = _span_days(as_of, reference)
    destination = _Destinations(columns.destination_country)
    targeted_countries = sorted(reference.policy.targeted_destinations())

    origin_cn = columns.origin_country == "CN"
    share_missing = np.isnan(columns.china_share)
    china_share = np.where(share_missing, np.where(origin_cn, 1.0, 0.5), columns.china_share)
    alternates_missing = np.isnan(columns.alternates)
    alternates = np.where(alternates_missing, 0.0, columns.alternates)
    type_missing = columns.supplier_type == MISSING_CODE
    supplier_type = np.where(type_missing, 0, columns.supplier_type)

    general = _day_tables(reference, day_list, None)
    targeted = {c: _day_tables(reference, day_list, c) for c in targeted_countries}
    controlled = _per_row(
        general.controlled,
        {c: tables.controlled for c, tables in targeted.items()},
        destination,
        (day_index, columns.material),
    )
    policy_note = general.notes[day_index, columns.material]
    # A sale from China to a buyer in China is no export: no list, rule or note reaches it.
    domestic = origin_cn & destination.among(("CN",))
    if domestic.any():
        controlled = controlled & ~domestic
        policy_note[domestic] = DOMESTIC_NOTE
    end_use_rank_of = np.array([reference.sensitivity_rank(e) for e in END_USES], dtype=np.int64)
    end_use_rank = end_use_rank_of[columns.end_use]

    licence = columns.licence.copy()
    rule_applied = np.full(n, None, dtype=object)
    destination_unknown_rule = np.full(n, None, dtype=object)
    magnet_of = np.array([m.magnet for m in reference.materials.values()], dtype=bool)
    is_magnet = magnet_of[columns.material]
    destination_missing = destination.missing
    # A controlled material shipped from China needs a licence whatever the record says: a
    # list coming into force (or a scenario) turns a stale 'not_required' into 'individual'.
    stale = controlled & origin_cn & (licence == LICENCE_NOT_REQUIRED)
    licence[stale] = LICENCE_INDIVIDUAL
    rule_applied[stale] = CONTROLLED_NEEDS_LICENCE
    # A licence given for a sale inside China covers no export: scored as none needed.
    at_home = domestic & (licence != LICENCE_NOT_REQUIRED)
    licence[at_home] = LICENCE_NOT_REQUIRED
    rule_applied[at_home] = DOMESTIC_SALE
    for k, rule in enumerate(reference.policy.rules):
        if_there: NDArray[np.bool_] | None = None
        """rows a rule would reach if the buyer were in one of its countries (no destination)"""
        unplaced: NDArray[np.bool_] | None = None
        """rows of the rule's end use without a destination"""
        active = _per_row(
            general.rules_active[:, k],
            {c: tables.rules_active[:, k] for c, tables in targeted.items()},
            destination,
            (day_index,),
        )
        if rule.kind == "extraterritorial" and rule.threshold_china_share is not None:
            exposed = (
                ~origin_cn
                & is_magnet
                & controlled
                & (china_share >= rule.threshold_china_share)
                & (licence == LICENCE_NOT_REQUIRED)
            )
            hit = active & exposed
            licence[hit] = LICENCE_INDIVIDUAL
            rule_applied[hit] = rule.name
            # Where only an assumed suspension keeps the rule off, the score rests on it.
            notes = _per_row(
                general.rule_notes[:, k],
                {c: tables.rule_notes[:, k] for c, tables in targeted.items()},
                destination,
                (day_index,),
            )
            _add_notes(policy_note, exposed & ~active, notes)
            would = exposed
        elif rule.kind == "destination_end_use_denial":
            end_use_hit = _one_of(END_USES, rule.end_uses)[columns.end_use]
            everywhere = not rule.destination_countries
            destination_hit = everywhere | destination.among(rule.destination_countries)
            # The ban is on licensed exports: it bites where a Chinese licence is needed.
            licensed = controlled & (licence != LICENCE_NOT_REQUIRED) & (licence < LICENCE_DENIED)
            would = end_use_hit & destination_hit & licensed
            hit = active & would
            licence[hit] = LICENCE_DENIED
            rule_applied[hit] = rule.name
            if not everywhere:
                unknown = active & end_use_hit & destination_missing & licensed
                # Several may apply: each is named.
                _add_notes(destination_unknown_rule, unknown, rule.name, apart=", ")
                unplaced = end_use_hit & destination_missing
                if_there = unplaced & licensed
        elif rule.kind == "general_licence_revocation":
            would = controlled & (licence == LICENCE_GENERAL)
            hit = active & would
            licence[hit] = LICENCE_INDIVIDUAL
            rule_applied[hit] = rule.name
        else:
            continue
        # A rule that would reach the record and changes within the horizon is named (for a
        # record without a destination, as reaching a buyer in the rule's countries). Most
        # days have no change ahead: asked per day first, not per row (recourse derives
        # features for thousands of candidate rows).
        by_day = {c: tables.rule_ahead[:, k] for c, tables in targeted.items()}
        if any(
            note is not None for day in (general.rule_ahead[:, k], *by_day.values()) for note in day
        ):
            ahead = _per_row(general.rule_ahead[:, k], by_day, destination, (day_index,))
            _add_notes(policy_note, would, ahead)
            if unplaced is not None and if_there is not None and unplaced.any():
                buyers: list[tuple[str, ObjArray]] = []
                for country in rule.destination_countries:
                    if country in by_day:  # tables of its own: asked as such a buyer
                        told = _told_as_buyer_in(
                            country, columns, unplaced, by_day[country], day_index, reference, today
                        )
                    else:  # the table without a destination (ahead's) is its buyers' too
                        told = ahead.copy()
                        told[~if_there] = None
                    buyers.append((country, told))
                _add_notes(policy_note, unplaced, _ahead_for_buyers_in(buyers, unplaced))
    _note_doubtful_general_licences(
        columns, as_of, supplier_type, licence, reference, policy_note, domestic
    )
    if targeted_countries:
        unknown = destination_missing & np.array(
            [r is None for r in destination_unknown_rule], dtype=bool
        )
        destination_unknown_rule[unknown] = "targeted at buyers in " + ", ".join(targeted_countries)

    matrix = np.empty((n, len(FEATURE_NAMES)), dtype=np.float64)
    matrix[:, 0] = china_share
    matrix[:, 1] = licence
    matrix[:, 2] = end_use_rank
    matrix[:, 3] = columns.buffer_days
    matrix[:, 4] = alternates
    matrix[:, 5] = supplier_type
    matrix[:, 6] = controlled
    return Features(
        matrix=matrix,
        as_of=as_of,
        china_share_defaulted=share_missing,
        alternates_defaulted=alternates_missing,
        supplier_type_defaulted=type_missing,
        as_of_defaulted=as_of_missing,
        licence_given=columns.licence,
        rule_applied=rule_applied,
        destination_unknown_rule=destination_unknown_rule,
        policy_note=policy_note,
    )
