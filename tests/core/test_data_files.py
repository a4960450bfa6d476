"""JSON data files (model, scenarios, reference tables): JSON that Python cannot read is refused.

Each loader turns it into its own error with a message naming the file and the problem.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

from supplier_risk.errors import ModelFileError, ReferenceDataError, SupplierRiskError
from supplier_risk.model_file import load_model_file
from supplier_risk.reference import Reference, load_reference
from supplier_risk.scenarios import load_scenarios

DEEP = "[" * 100_000 + "]" * 100_000
LONG_NUMBER = '{"format_version": 1, "x": ' + "1" * 5000 + "}"


def load_as_reference(path: Path) -> object:
    """Load a reference directory whose materials.json is the file at ``path``."""
    return load_reference(path.parent)


Loader = Callable[[Path], object]
LOADERS: list[tuple[str, Loader, type[SupplierRiskError]]] = [
    ("model.json", load_model_file, ModelFileError),
    ("scenarios.json", load_scenarios, ReferenceDataError),
    ("materials.json", load_as_reference, ReferenceDataError),
]


@pytest.mark.parametrize(
    ("name", "load", "error"), LOADERS, ids=["model", "scenarios", "reference"]
)
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP, "is nested too deeply"),
        (LONG_NUMBER, "has a number too long to read"),
        ('{"format_version": 1, "title": "x\\ud800"}', "holds text that is not valid Unicode"),
    ],
    ids=["deep", "long_number", "lone_surrogate"],
)
def test_each_loader_refuses_json_python_cannot_read(
    tmp_path: Path, name: str, load: Loader, error: type[SupplierRiskError], text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    with pytest.raises(error, match=rf"{name} {problem}"):
        load(path)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: (d / "materials.json").mkdir(), "Is a directory"),
        (lambda d: d.rmdir() or d.write_text("x", "utf-8"), "Not a directory"),
    ],
    ids=["table_is_a_directory", "directory_is_a_file"],
)
def test_load_reference_says_why_a_table_cannot_be_read(
    tmp_path: Path, make: Callable[[Path], object], problem: str
) -> None:
    directory = tmp_path / "reference"
    directory.mkdir()
    make(directory)
    with pytest.raises(ReferenceDataError, match=rf"cannot read reference file .*: {problem}"):
        load_reference(directory)


# The shipped tables against DOMAIN.md 'The rules, as data' and 'Licences' (docs/DOMAIN.md).
APRIL_2025 = {"Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"}
OCTOBER_2025 = {"Ho", "Er", "Tm", "Eu", "Yb"}
LIGHT = {"Nd", "Pr", "La", "Ce"}


def test_each_control_list_holds_the_elements_domain_lists(reference: Reference) -> None:
    controlled: dict[str | None, set[str]] = {}
    for material in reference.materials.values():
        controlled.setdefault(material.control_list, set()).update(material.elements)
    assert controlled["april_2025"] - LIGHT == APRIL_2025
    assert controlled["october_2025"] == OCTOBER_2025
    assert controlled[None] == LIGHT  # not listed: light-rare-earth products need no licence
    # Magnets: heavy-grade NdFeB and SmCo are on the April list, plain NdFeB is on none.
    assert reference.materials["ndfeb_magnet_heavy"].control_list == "april_2025"
    assert reference.materials["smco_magnet"].control_list == "april_2025"
    assert reference.materials["ndfeb_magnet"].control_list is None


def test_the_policy_table_dates_are_domains(reference: Reference) -> None:
    policy = reference.policy
    april, october = policy.list_named("april_2025"), policy.list_named("october_2025")
    assert (april.announced, april.in_force, april.suspensions) == (
        dt.date(2025, 4, 4),
        dt.date(2025, 4, 4),
        (),
    )
    rules = {r.name: r for r in policy.rules}
    extraterritorial = rules["extraterritorial_0_1pct"]
    assert (october.announced, october.in_force) == (dt.date(2025, 10, 9), dt.date(2025, 11, 8))
    assert (extraterritorial.announced, extraterritorial.in_force) == (
        dt.date(2025, 10, 9),
        dt.date(2025, 12, 1),
    )
    assert extraterritorial.threshold_china_share == 0.001  # at least 0.1%
    for dated in (october, extraterritorial):
        known = [s for s in dated.suspensions if not s.assumed]
        assert [(s.start, s.until) for s in known] == [
            (dt.date(2025, 11, 7), dt.date(2026, 11, 10))
        ]
        assert "No. 70" in known[0].instrument
    japan = rules["japan_military_end_use_ban"]
    assert (japan.in_force, japan.destination_countries, japan.end_uses) == (
        dt.date(2026, 1, 6),
        ("JP",),
        ("defense",),
    )
    us = rules["us_military_end_use_ban"]
    assert (us.destination_countries, us.end_uses) == (("US",), ("defense",))
    assert policy.general_licences is not None
    assert policy.general_licences.first_granted == dt.date(2025, 12, 2)


def test_the_april_list_names_every_form_domain_lists(reference: Reference) -> None:
    what = reference.policy.list_named("april_2025").what
    for form in ("metals", "alloys", "targets", "oxides", "compounds", "magnets"):
        assert form in what, form


def test_no_instrument_is_credited_with_a_rule_domain_does_not_give_it(
    reference: Reference,
) -> None:
    # DOMAIN.md says US military end users are banned, with no instrument; No. 18 is the April
    # list of materials, which does not carry that ban.
    us = next(r for r in reference.policy.rules if r.name == "us_military_end_use_ban")
    assert "No. 18" not in us.instrument


def test_the_policy_table_says_what_it_assumes_after_its_assumed_renewal(
    reference: Reference,
) -> None:
    assumed = {
        s.until
        for d in (*reference.policy.control_lists, *reference.policy.rules)
        for s in d.suspensions
        if s.assumed
    }
    text = " ".join(reference.policy.assumptions)
    for until in assumed:  # the day the table applies the measures again, on its own say-so
        assert f"From {until.isoformat()}" in text


def test_an_end_use_is_not_rated_on_a_suspended_rule_alone() -> None:
    document = json.loads(
        resources.files("supplier_risk").joinpath("data/end_uses.json").read_text()
    )
    why = {row["code"]: row["why"] for row in document["end_uses"]}
    assert "DOMAIN.md 'Licences'" in why["semiconductor"]


def test_the_lapse_scenario_states_the_extraterritorial_threshold_and_reach() -> None:
    # DOMAIN.md: a foreign-made magnet needs a licence when Chinese-origin rare earths are at
    # least 0.1% of it; the feature path applies it to controlled magnets only.
    book = load_scenarios()
    description = book.get("suspension_lapses").description
    assert "at least 0.1%" in description
    assert "controlled rare earth" in description
