"""Deriving model inputs: defaults, the policy table by date, and the policy rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from supplier_risk.features import (
    CONTROLLED_NEEDS_LICENCE,
    DOMESTIC_NOTE,
    DOMESTIC_SALE,
    FEATURE_NAMES,
    NOTES_APART,
    Features,
    _day_policy,
    _span_days,
    columns_from_records,
    derive_features,
    policy_boundaries,
)
from supplier_risk.record import LICENCE_ORDER, SupplierRecord
from supplier_risk.reference import Reference, load_reference
from supplier_risk.scenarios import ScenarioBook, load_scenarios
from tests.conftest import TODAY
from tests.core.test_policy_check import (
    copy_reference,
    japan_korea_ban_suspended_except_korea,
    october_list_suspended_except_japan,
)

Make = Callable[..., SupplierRecord]
COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


def derive(reference: Reference, *records: SupplierRecord) -> Features:
    return derive_features(columns_from_records(records, reference), reference, TODAY)


def value(features: Features, name: str, row: int = 0) -> float:
    return float(features.matrix[row, COL[name]])


@pytest.mark.parametrize(("origin", "share"), [("CN", 1.0), ("JP", 0.5), ("US", 0.5)])
def test_derive_features_defaults_china_share_by_origin(
    reference: Reference, make_record: Make, origin: str, share: float
) -> None:
    features = derive(reference, make_record(china_share=None, origin_country=origin))
    assert value(features, "china_share") == share
    assert features.china_share_defaulted.tolist() == [True]


def test_derive_features_defaults_alternates_type_and_date(
    reference: Reference, make_record: Make
) -> None:
    features = derive(
        reference, make_record(alternate_suppliers=None, supplier_type=None, as_of=None)
    )
    assert value(features, "alternate_suppliers") == 0
    assert value(features, "supplier_type") == 0
    assert features.as_of.tolist() == [TODAY]
    assert features.alternates_defaulted[0]
    assert features.supplier_type_defaulted[0]
    assert features.as_of_defaulted[0]


@pytest.mark.parametrize(
    ("material", "as_of", "controlled"),
    [
        ("dy_oxide", "2025-04-03", 0),  # the April 2025 list came into force on 2025-04-04
        ("dy_oxide", "2025-04-04", 1),
        ("ndfeb_magnet_heavy", "2026-11-22", 1),
        ("ndfeb_magnet", "2026-11-22", 0),  # light rare earths are not listed
        ("ho_oxide", "2025-11-07", 0),  # October list suspended from 2025-11-07
        ("ho_oxide", "2026-11-22", 0),  # ... and assumed renewed after 2026-11-10
    ],
)
def test_derive_features_reads_controlled_from_policy_table(
    reference: Reference, make_record: Make, material: str, as_of: str, controlled: int
) -> None:
    features = derive(reference, make_record(material=material, as_of=as_of))
    assert value(features, "controlled") == controlled


def test_derive_features_notes_assumed_suspension(reference: Reference, make_record: Make) -> None:
    features = derive(reference, make_record(material="ho_oxide", as_of="2026-11-22"))
    assert "assumes october_2025 stays suspended until 2027-11-10" in features.policy_note[0]


@pytest.mark.parametrize(
    ("material", "as_of", "scenario", "ahead"),
    [
        ("dy_oxide", "2025-01-03", None, None),  # 91 days before the April 2025 list
        ("dy_oxide", "2025-01-04", None, "april_2025 comes into force on 2025-04-04"),
        ("dy_oxide", "2025-04-03", None, "april_2025 comes into force on 2025-04-04"),
        ("dy_oxide", "2025-04-04", None, None),  # in force: nothing ahead
        # the October 2025 list was suspended before its day came: it never came into force
        ("ho_oxide", "2025-10-15", None, None),
        # the table assumes a renewal until 2027-11-10, so the list returns that day
        ("ho_oxide", "2027-08-12", None, "october_2025 comes into force on 2027-11-10"),
        (
            "ho_oxide",
            "2026-09-01",
            "suspension_lapses",
            "october_2025 comes into force on 2026-11-10",
        ),
        ("la_ce_oxide", "2025-03-01", None, None),  # never controlled
    ],
)
def test_derive_features_notes_a_change_within_the_90_days_a_score_covers(
    reference: Reference,
    make_record: Make,
    material: str,
    as_of: str,
    scenario: str | None,
    ahead: str | None,
) -> None:
    # The model scores the status on as_of; a list coming into force within the horizon is
    # what a buyer with weeks of stock most needs to hear of.
    served = reference if scenario is None else load_scenarios().reference_for(scenario, reference)
    note = derive(served, make_record(material=material, as_of=as_of)).policy_note[0] or ""
    lines = note.split(NOTES_APART)
    found = [line for line in lines if "within the 90 days this score covers" in line]
    if ahead is None:
        assert not found, note
    else:
        assert len(found) == 1, note
        assert found[0].startswith(ahead), note
        assert as_of not in found[0]  # the one-record path caches notes over spans of days


MAGNET_ABROAD = {
    "material": "ndfeb_magnet_heavy",
    "origin_country": "DE",
    "china_share": 0.5,
    "licence_type": "not_required",
}
DEFENSE_FROM_CHINA = {"material": "dy_oxide", "licence_type": "individual", "end_use": "defense"}


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2025-12-01", ["for a buyer in JP or KR, japan_military_end_use_ban comes into force"]),
        # suspended from 2026-02-01 for buyers in Japan only: Korea's buyers see no change
        ("2026-01-15", ["for a buyer in JP, japan_military_end_use_ban stops applying"]),
    ],
)
def test_a_rule_ahead_is_named_per_buyer_country_for_a_record_without_destination(
    tmp_path: Path, make_record: Make, as_of: str, expected: list[str]
) -> None:
    served = load_reference(
        copy_reference(tmp_path / "reference", japan_korea_ban_suspended_except_korea)
    )
    record = make_record(**DEFENSE_FROM_CHINA, destination_country=None, as_of=as_of)
    note = derive(served, record).policy_note[0] or ""
    found = [line for line in note.split(NOTES_APART) if "within the 90 days" in line]
    assert [
        line.removeprefix("destination_country not given: ")[: len(e)]
        for line, e in zip(found, expected, strict=False)
    ] == expected, note
    assert len(found) == len(expected), note


@pytest.mark.parametrize(
    ("overrides", "scenario", "ahead"),
    [
        (  # the 0.1% rule returns when the suspension lapses, 70 days on
            {**MAGNET_ABROAD, "as_of": "2026-09-01"},
            "suspension_lapses",
            "extraterritorial_0_1pct comes into force on 2026-11-10",
        ),
        ({**MAGNET_ABROAD, "as_of": "2026-09-01"}, None, None),  # renewed: nothing ahead
        (
            {**DEFENSE_FROM_CHINA, "destination_country": "JP", "as_of": "2025-12-01"},
            None,
            "japan_military_end_use_ban comes into force on 2026-01-06",
        ),
        # the ban does not reach a German buyer, nor a licence-free export
        ({**DEFENSE_FROM_CHINA, "destination_country": "DE", "as_of": "2025-12-01"}, None, None),
        (  # a buyer not named may be in Japan: said so, as the ban in force is (no line here)
            {**DEFENSE_FROM_CHINA, "destination_country": None, "as_of": "2025-12-01"},
            None,
            "destination_country not given: for a buyer in JP",
        ),
        ({**DEFENSE_FROM_CHINA, "destination_country": None, "as_of": "2025-10-07"}, None, None),
        (
            {**DEFENSE_FROM_CHINA, "material": "la_ce_oxide", "destination_country": "JP"}
            | {"as_of": "2025-12-01"},
            None,
            None,
        ),
    ],
)
def test_derive_features_notes_a_rule_ahead_only_where_it_would_reach_the_record(
    reference: Reference,
    make_record: Make,
    overrides: dict[str, object],
    scenario: str | None,
    ahead: str | None,
) -> None:
    served = reference if scenario is None else load_scenarios().reference_for(scenario, reference)
    note = derive(served, make_record(**overrides)).policy_note[0] or ""
    found = [line for line in note.split(NOTES_APART) if "within the 90 days" in line]
    assert [line.split(",")[0] for line in found] == ([] if ahead is None else [ahead]), note


def test_rule_ahead_note_without_destination_names_the_rescore_that_shows_it(
    reference: Reference, make_record: Make
) -> None:
    # Rescored with the new as_of alone, a record without a destination is not denied: the
    # ban reaches it only with a destination_country the ban names.
    overrides = {**DEFENSE_FROM_CHINA, "destination_country": None, "as_of": "2025-12-01"}
    note = derive(reference, make_record(**overrides)).policy_note[0] or ""
    (line,) = [line for line in note.split(NOTES_APART) if "within the 90 days" in line]
    assert "destination_country JP" in line.split("rescore with")[1], line
    later = {**overrides, "as_of": "2026-01-06"}
    alone = derive(reference, make_record(**later))
    there = derive(reference, make_record(**{**later, "destination_country": "JP"}))
    assert LICENCE_ORDER[int(value(alone, "licence_type"))] == "individual"
    assert LICENCE_ORDER[int(value(there, "licence_type"))] == "denied"


@pytest.mark.parametrize(
    ("overrides", "noted"),
    [
        ({}, True),  # a magnet made in Germany with Chinese rare earths, no licence asked
        ({"as_of": "2026-11-09"}, False),  # the known suspension: a fact, not an assumption
        ({"as_of": "2027-11-10"}, False),  # the assumed suspension has run out: the rule bites
        ({"china_share": 0.0005}, False),  # below the 0.1% threshold the rule never applied
        ({"material": "ndfeb_magnet"}, False),  # not a controlled magnet
        ({"origin_country": "CN"}, False),  # made in China: not an extraterritorial case
        ({"licence_type": "individual"}, False),  # already licensed: the rule changes nothing
    ],
)
def test_derive_features_notes_assumed_suspension_of_extraterritorial_rule(
    reference: Reference, make_record: Make, overrides: dict[str, object], noted: bool
) -> None:
    data = {
        "material": "ndfeb_magnet_heavy",
        "origin_country": "DE",
        "china_share": 0.5,
        "licence_type": "not_required",
        "as_of": "2026-11-22",
        **overrides,
    }
    features = derive(reference, make_record(**data))
    note = features.policy_note[0]
    expected = "assumes extraterritorial_0_1pct stays suspended until 2027-11-10"
    assert (note is not None and expected in note) is noted, note


@pytest.mark.parametrize(("as_of", "noted"), [("2025-12-01", True), ("2025-12-02", False)])
def test_derive_features_notes_a_general_licence_before_any_was_granted(
    reference: Reference, make_record: Make, as_of: str, noted: bool
) -> None:
    features = derive(reference, make_record(licence_type="general", as_of=as_of))
    note = features.policy_note[0]
    assert (note is not None and "as_of before 2025-12-02, when the first general" in note) is (
        noted
    ), note
    assert LICENCE_ORDER[int(value(features, "licence_type"))] == "general"  # scored as given


@pytest.mark.parametrize(
    ("supplier_type", "as_of", "noted"),
    [
        ("intermediary", "2026-06-01", True),
        ("smaller", "2026-06-01", True),
        ("established", "2026-06-01", False),
        (None, "2026-06-01", False),  # assumed established
        ("intermediary", "2025-12-01", False),  # the note of an early claim says it already
    ],
)
def test_derive_features_notes_a_general_licence_claimed_by_a_kind_of_supplier_that_held_none(
    reference: Reference,
    make_record: Make,
    supplier_type: str | None,
    as_of: str,
    noted: bool,
) -> None:
    # DOMAIN.md 'Licences': smaller firms and traders stayed on individual licences.
    record = make_record(licence_type="general", supplier_type=supplier_type, as_of=as_of)
    note = derive(reference, record).policy_note[0]
    said = note is not None and "general licences went to established exporters first" in note
    assert said is noted, note
    if noted:
        assert f"supplier_type {supplier_type}" in note


@pytest.mark.parametrize(
    ("destination", "scored"),
    [("DE", "general"), ("JP", "denied"), ("US", "denied")],
)
def test_general_licence_check_note_says_scored_as_given_only_where_it_was(
    reference: Reference, make_record: Make, destination: str, scored: str
) -> None:
    # An end-use ban denies the licence a smaller firm claims: its note must not say the
    # record was scored as given next to the line saying it was scored as denied.
    record = make_record(
        material="dy_oxide",
        origin_country="CN",
        licence_type="general",
        end_use="defense",
        supplier_type="smaller",
        destination_country=destination,
        as_of="2026-06-01",
    )
    features = derive(reference, record)
    assert LICENCE_ORDER[int(value(features, "licence_type"))] == scored
    note = features.policy_note[0]
    assert note is not None
    assert "supplier_type smaller" in note
    assert "check the record" in note
    assert ("scored as given" in note) is (scored == "general"), note


def test_derive_features_asks_no_check_of_the_licence_a_sale_inside_china_gives(
    reference: Reference, make_record: Make
) -> None:
    # Scored as needing no licence: 'check the record' about its licence contradicted that.
    record = make_record(
        origin_country="CN", destination_country="CN", licence_type="general", as_of="2025-06-01"
    )
    assert derive(reference, record).policy_note[0] == DOMESTIC_NOTE


def test_derive_features_names_every_rule_a_missing_destination_may_trigger(
    reference: Reference, make_record: Make
) -> None:
    record = make_record(
        material="dy_oxide", end_use="defense", destination_country=None, as_of="2026-01-06"
    )
    named = derive(reference, record).destination_unknown_rule[0]
    assert named == "japan_military_end_use_ban, us_military_end_use_ban"


def test_derive_features_raises_stale_licence_for_controlled_chinese_export(
    reference: Reference, make_record: Make
) -> None:
    features = derive(reference, make_record(material="dy_oxide", licence_type="not_required"))
    assert LICENCE_ORDER[int(value(features, "licence_type"))] == "individual"
    assert features.rule_applied[0] == CONTROLLED_NEEDS_LICENCE
    assert LICENCE_ORDER[int(features.licence_given[0])] == "not_required"


@pytest.mark.parametrize(
    ("origin", "destination", "given", "controlled", "licence", "rule"),
    [
        # a sale inside China is no export: no control, no licence, whatever the record says
        ("CN", "CN", "not_required", False, "not_required", None),
        ("CN", "CN", "individual", False, "not_required", DOMESTIC_SALE),
        ("CN", "CN", "pending", False, "not_required", DOMESTIC_SALE),
        ("CN", "DE", "not_required", True, "individual", CONTROLLED_NEEDS_LICENCE),
        ("CN", None, "not_required", True, "individual", CONTROLLED_NEEDS_LICENCE),
        # a Japanese maker's Chinese rare earths were exported to it, under the controls
        ("JP", "CN", "not_required", True, "not_required", None),
        ("JP", "CN", "individual", True, "individual", None),
    ],
)
def test_derive_features_leaves_a_sale_inside_china_outside_the_export_controls(
    reference: Reference,
    make_record: Make,
    origin: str,
    destination: str | None,
    given: str,
    controlled: bool,
    licence: str,
    rule: str | None,
) -> None:
    record = make_record(
        material="dy_oxide", origin_country=origin, china_share=1.0, licence_type=given,
        end_use="defense", destination_country=destination, as_of=dt.date(2026, 11, 20),
    )  # fmt: skip
    features = derive(reference, record)
    assert bool(value(features, "controlled")) is controlled
    assert LICENCE_ORDER[int(value(features, "licence_type"))] == licence
    assert features.rule_applied[0] == rule
    assert (features.policy_note[0] == DOMESTIC_NOTE) is (origin == destination == "CN")


@pytest.mark.parametrize(("destination", "licence"), [("US", "denied"), ("DE", "individual")])
def test_derive_features_applies_us_military_ban(
    reference: Reference, make_record: Make, destination: str, licence: str
) -> None:
    record = make_record(end_use="defense", destination_country=destination)
    features = derive(reference, record)
    assert LICENCE_ORDER[int(value(features, "licence_type"))] == licence


def test_derive_features_applies_japan_ban_only_from_2026_01_06(
    reference: Reference, make_record: Make
) -> None:
    before = make_record(end_use="defense", destination_country="JP", as_of="2026-01-05")
    after = make_record(end_use="defense", destination_country="JP", as_of="2026-01-06")
    features = derive(reference, before, after)
    assert [LICENCE_ORDER[int(v)] for v in features.matrix[:, COL["licence_type"]]] == [
        "individual",
        "denied",
    ]


def test_derive_features_flags_rule_that_needs_destination(
    reference: Reference, make_record: Make
) -> None:
    features = derive(reference, make_record(end_use="defense", destination_country=None))
    assert features.destination_unknown_rule[0] is not None


def test_derive_features_applies_extraterritorial_rule_when_suspension_lapses(
    reference: Reference, make_record: Make
) -> None:
    lapsed = load_scenarios().reference_for("suspension_lapses", reference)
    record = make_record(
        material="ndfeb_magnet_heavy",
        origin_country="JP",
        china_share=0.4,
        licence_type="not_required",
        as_of="2026-11-22",
    )
    base = derive(reference, record)
    after = derive(lapsed, record)
    assert LICENCE_ORDER[int(value(base, "licence_type"))] == "not_required"
    assert LICENCE_ORDER[int(value(after, "licence_type"))] == "individual"
    assert after.rule_applied[0] == "extraterritorial_0_1pct"


def test_derive_features_ignores_supplier_name(reference: Reference, make_record: Make) -> None:
    a = derive(reference, make_record(supplier_name="A"), make_record(supplier_name=None))
    assert np.array_equal(a.matrix[0], a.matrix[1])


def test_derive_features_orders_end_use_by_sensitivity(
    reference: Reference, make_record: Make
) -> None:
    uses = ["industrial", "automotive", "semiconductor", "defense"]
    features = derive(reference, *(make_record(end_use=u, origin_country="JP") for u in uses))
    assert features.matrix[:, COL["end_use"]].tolist() == [0, 1, 2, 3]


def test_derive_features_uses_today_for_missing_as_of(
    reference: Reference, make_record: Make
) -> None:
    records = [make_record(as_of=None)]
    later = derive_features(
        columns_from_records(records, reference), reference, dt.date(2027, 12, 1)
    )
    assert later.as_of.tolist() == [dt.date(2027, 12, 1)]


GENERIC = "; see GET /v1/scenarios or `supplier-risk scenarios` for what-ifs"


def book_of(*names: str) -> ScenarioBook:
    """Return the shipped scenarios of these names, renamed 'my_' + name."""
    shipped = load_scenarios().scenarios
    renamed = {f"my_{n}": shipped[n].model_copy(update={"name": f"my_{n}"}) for n in names}
    return ScenarioBook("test", renamed, "test")


@pytest.mark.parametrize(
    ("book", "see"),
    [
        (load_scenarios(), "; see the scenario suspension_lapses"),
        (book_of("baseline", "suspension_lapses"), "; see the scenario my_suspension_lapses"),
        # No scenario of these lifts the suspension for every buyer: none is named.
        (book_of("baseline", "country_targeted"), GENERIC),
        (ScenarioBook.empty(), GENERIC),
    ],
    ids=["shipped", "renamed", "only_targeted", "none"],
)
@pytest.mark.parametrize(
    "data",
    [
        {"material": "ho_oxide"},
        {"material": "ndfeb_magnet_heavy", "origin_country": "DE", "china_share": 0.5},
    ],
    ids=["list", "rule"],
)
def test_an_assumption_note_names_a_scenario_only_if_the_served_book_has_one_lifting_it(
    reference: Reference, make_record: Make, book: ScenarioBook, see: str, data: dict[str, object]
) -> None:
    served = book.served_reference(reference)
    record = make_record(**data, licence_type="not_required", as_of="2026-11-22")
    note = derive(served, record).policy_note[0]
    assert note is not None
    assert note.endswith(see), note


def test_a_ban_ahead_is_named_for_a_record_without_destination_as_for_its_countrys_buyer(
    tmp_path: Path, make_record: Make
) -> None:
    served = load_reference(copy_reference(tmp_path / "ref", october_list_suspended_except_japan))
    fields = {**DEFENSE_FROM_CHINA, "material": "yb_oxide", "as_of": "2025-12-01"}
    to_japan = derive(served, make_record(**fields, destination_country="JP")).policy_note[0]
    assert "japan_military_end_use_ban comes into force on 2026-01-06" in (to_japan or "")
    unknown = derive(served, make_record(**fields, destination_country=None)).policy_note[0]
    assert "for a buyer in JP, japan_military_end_use_ban comes into force" in (unknown or ""), (
        unknown
    )


def _policies_to_check(tmp_path: Path) -> list[Reference]:
    """The shipped table, each scenario's, and edited tables with buyers of their own."""
    shipped = load_reference()
    book = load_scenarios()
    edited = [
        load_reference(copy_reference(tmp_path / edit.__name__, edit))
        for edit in (october_list_suspended_except_japan, japan_korea_ban_suspended_except_korea)
    ]
    return [shipped, *(book.reference_for(name, shipped) for name in book.names()), *edited]


def test_every_day_of_a_policy_span_has_the_answers_of_the_day_it_is_derived_on(
    tmp_path: Path,
) -> None:
    # derive_features looks each row's policy answers up once per span between boundaries:
    # checked here against the answers of every single day, for every buyer the table names.
    for reference in _policies_to_check(tmp_path):
        edges = policy_boundaries(reference)
        first, last = edges[0].astype(object), edges[-1].astype(object)
        days = np.arange(
            np.datetime64(first - dt.timedelta(days=5), "D"),
            np.datetime64(last + dt.timedelta(days=5), "D"),
        )
        span_day, span_of = _span_days(days, reference)
        policy = reference.policy
        buyers = {None, "DE", *policy.targeted_destinations()}
        buyers.update(c for rule in policy.rules for c in rule.destination_countries)
        for day, span in zip(days.astype(object).tolist(), span_of.tolist(), strict=True):
            for buyer in buyers:
                mine = _day_policy(reference, day, buyer)
                spans = _day_policy(reference, span_day[span], buyer)
                for field in ("controlled", "rules_active", "notes", "rule_notes", "rule_ahead"):
                    assert np.array_equal(getattr(mine, field), getattr(spans, field)), (
                        policy.version,
                        day,
                        buyer,
                        field,
                    )


@pytest.mark.parametrize("absent", [float("nan"), pd.NA])
def test_a_destination_read_as_missing_from_a_csv_derives_as_a_record_without_one(
    reference: Reference, make_record: Make, absent: object
) -> None:
    # The CSV path hands a blank destination_country over as NaN, not None: the rules and the
    # notes for a buyer not named must reach it all the same (they did not before 2026-11-28).
    records = [
        make_record(**DEFENSE_FROM_CHINA, destination_country=None, as_of=day)
        for day in ("2025-10-07", "2025-12-01", "2026-01-10", "2026-11-20")
    ] + [make_record(destination_country=None, origin_country="MY", china_share=0.5)]
    columns = columns_from_records(records, reference)
    blank = columns.replace(destination_country=np.full(len(records), absent, dtype=object))
    expected = derive_features(columns, reference, TODAY)
    found = derive_features(blank, reference, TODAY)
    assert expected.destination_unknown_rule.tolist()[:4] != [None] * 4  # the case in question
    for name in Features.__dataclass_fields__:
        want, got = getattr(expected, name), getattr(found, name)
        assert got.tolist() == want.tolist(), name
