"""A policy table or scenario that would crash scoring or silently do nothing is refused at load.

Each message names the file, the list or rule (or the scenario), the field, the value and what
is allowed; the CLI turns it into exit 3 without a traceback.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from supplier_risk.cli import EXIT_NO_MODEL, app
from supplier_risk.errors import ReferenceDataError
from supplier_risk.reference import load_reference
from supplier_risk.scenarios import load_scenarios
from tests.core.table_files import csv_bytes, rows

Policy = dict[str, Any]
SHIPPED = resources.files("supplier_risk").joinpath("data")


def copy_reference(directory: Path, edit: Callable[[Policy], object] | None = None) -> Path:
    """Copy the shipped reference tables into ``directory``, editing the policy table."""
    directory.mkdir(exist_ok=True)
    for name in ("materials.json", "end_uses.json", "policy.json"):
        shutil.copyfile(str(SHIPPED.joinpath(name)), directory / name)
    if edit is not None:
        policy = json.loads((directory / "policy.json").read_text("utf-8"))
        edit(policy)
        (directory / "policy.json").write_text(json.dumps(policy), "utf-8")
    return directory


def set_field(where: str, index: int, field: str, value: object) -> Callable[[Policy], None]:
    """Return an edit setting ``policy[where][index][field]``."""
    return lambda p: p[where][index].__setitem__(field, value)


def japan_korea_ban_suspended_except_korea(policy: Policy) -> None:
    """Edit: the Japanese ban covers Korea too, and is suspended in 2026 except for Korea."""
    ban = next(r for r in policy["rules"] if r["name"] == "japan_military_end_use_ban")
    ban["destination_countries"] = ["JP", "KR"]
    ban["suspensions"] = [
        {"from": "2026-02-01", "until": "2027-01-01", "except_destinations": ["KR"]}
    ]


def october_list_suspended_except_japan(policy: dict[str, object]) -> None:
    """Edit: the October 2025 list's suspensions do not cover buyers in Japan."""
    lists = policy["control_lists"]
    assert isinstance(lists, list)
    for suspension in next(c for c in lists if c["name"] == "october_2025")["suspensions"]:
        suspension["except_destinations"] = ["JP"]


def set_suspension(index: int, field: str, value: object) -> Callable[[Policy], None]:
    """Return an edit setting a field of october_2025's suspension ``index``."""
    return lambda p: p["control_lists"][1]["suspensions"][index].__setitem__(field, value)


JP_BAN = "rule 'japan_military_end_use_ban'"
ALLOWED_END_USES = "allowed: consumer_electronics, industrial, medical, automotive"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (set_field("rules", 1, "end_uses", ["military"]), f"{JP_BAN}: end_uses has 'military'; "),
        (set_field("rules", 1, "end_uses", []), f"{JP_BAN}: end_uses is empty; allowed: one or"),
        (
            set_suspension(0, "until", "2025-11-07"),
            "control list 'october_2025': suspensions[0]: from 2025-11-07 is not before until "
            "2025-11-07; allowed: from earlier than until",
        ),
        (
            set_suspension(1, "except_destinations", ["jp"]),
            "control list 'october_2025': suspensions[1].except_destinations has 'jp'; "
            "allowed: upper-case country codes: write 'JP'",
        ),
        (
            set_field("rules", 1, "destination_countries", ["XX"]),
            f"{JP_BAN}: destination_countries has 'XX', which is not in the countries table; "
            "allowed: ISO 3166-1 alpha-2 codes",
        ),
        (
            lambda p: p["rules"][0].pop("threshold_china_share"),
            "rule 'extraterritorial_0_1pct': threshold_china_share is None; allowed: a share "
            "from 0 to 1",
        ),
        (
            set_field("rules", 0, "threshold_china_share", 5),
            "rule 'extraterritorial_0_1pct': threshold_china_share is 5.0; allowed:",
        ),
        (
            set_field("rules", 0, "end_uses", ["defense"]),
            "rule 'extraterritorial_0_1pct': end_uses is not read by kind extraterritorial; "
            "allowed: only on kind destination_end_use_denial",
        ),
        (
            set_field("control_lists", 0, "announced", "2025-04-05"),
            "control list 'april_2025': in_force 2025-04-04 is before announced 2025-04-05; "
            "allowed: a date on or after announced",
        ),
        (
            set_field("rules", 2, "name", "april_2025"),
            "name 'april_2025' used more than once; allowed: each control list and rule name once",
        ),
        (
            set_field("rules", 2, "kind", "export_ban"),
            "rules.2.kind: Input should be 'extraterritorial', 'destination_end_use_denial' or "
            "'general_licence_revocation'",
        ),
    ],
    ids=[
        "unknown_end_use",
        "no_end_use",
        "suspension_from_not_before_until",
        "lower_case_country",
        "unknown_country",
        "extraterritorial_without_threshold",
        "threshold_above_one",
        "field_of_another_kind",
        "in_force_before_announced",
        "rule_named_as_a_list",
        "unknown_kind",
    ],
)
def test_a_bad_policy_table_is_refused_naming_file_field_value_and_what_is_allowed(
    tmp_path: Path, edit: Callable[[Policy], object], message: str
) -> None:
    directory = copy_reference(tmp_path / "reference", edit)
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(directory)
    assert "policy.json" in str(caught.value)
    assert message in str(caught.value)


def test_an_unknown_end_use_lists_the_end_uses_allowed(tmp_path: Path) -> None:
    directory = copy_reference(tmp_path / "ref", set_field("rules", 1, "end_uses", ["military"]))
    with pytest.raises(ReferenceDataError, match=ALLOWED_END_USES) as caught:
        load_reference(directory)
    assert str(caught.value).startswith(f"reference file {directory / 'policy.json'}: ")


def write_scenarios(path: Path, patches: list[dict[str, Any]]) -> Path:
    """Write a scenario file with the shipped scenarios and one called 'custom'."""
    book = json.loads(SHIPPED.joinpath("scenarios.json").read_text("utf-8"))
    custom = {"name": "custom", "title": "t", "description": "d", "patches": patches}
    book["scenarios"].append(custom)
    path.write_text(json.dumps(book), "utf-8")
    return path


MILITARY_RULE = {
    "op": "add_rule",
    "rule": {
        "name": "military_everywhere",
        "kind": "destination_end_use_denial",
        "end_uses": ["military"],
        "announced": "2025-04-04",
        "in_force": "2025-04-04",
    },
}
MISSING_TARGET = {"op": "set_suspensions", "targets": ["no_such_rule"], "suspensions": []}
LOWER_CASE_TARGET = {
    "op": "set_suspensions",
    "targets": ["october_2025"],
    "suspensions": [{"from": "2026-11-10", "until": "2027-11-10", "except_destinations": ["jp"]}],
}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (MILITARY_RULE, "scenario custom: rule 'military_everywhere': end_uses has 'military'"),
        (MISSING_TARGET, "scenario custom: no control list or rule 'no_such_rule'"),
        (LOWER_CASE_TARGET, "scenario custom: control list 'october_2025': suspensions[0]."),
    ],
    ids=["unknown_end_use", "missing_target", "lower_case_country"],
)
def test_a_bad_scenario_is_refused_when_checked_naming_file_and_scenario(
    tmp_path: Path, patch: dict[str, Any], message: str
) -> None:
    path = write_scenarios(tmp_path / "scenarios.json", [patch])
    book = load_scenarios(path)
    with pytest.raises(ReferenceDataError) as caught:
        book.check_against(load_reference())
    assert str(caught.value).startswith(f"scenario file {path}: {message}")


def run(command: list[str], **env: str) -> tuple[int, str]:
    """Run the CLI with SUPPLIER_RISK_ settings, returning the exit code and all output."""
    settings = {f"SUPPLIER_RISK_{k.upper()}": v for k, v in env.items()}
    result = CliRunner().invoke(app, command, env=settings)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_score_with_a_bad_policy_table_exits_3_without_a_traceback(tmp_path: Path) -> None:
    directory = copy_reference(tmp_path / "ref", set_field("rules", 1, "end_uses", ["military"]))
    source = tmp_path / "in.csv"
    source.write_bytes(csv_bytes(rows(2)))
    args = ["score", str(source), "--out", str(tmp_path / "out.csv")]
    code, output = run(args, reference_dir=str(directory))
    assert code == EXIT_NO_MODEL
    assert "end_uses has 'military'" in output
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("patch", [MILITARY_RULE, MISSING_TARGET], ids=["end_use", "target"])
@pytest.mark.parametrize("command", ["scenarios", "score"])
def test_scenarios_and_score_refuse_a_bad_scenario_file_alike(
    tmp_path: Path, patch: dict[str, Any], command: str
) -> None:
    path = write_scenarios(tmp_path / "scenarios.json", [patch])
    source = tmp_path / "in.csv"
    source.write_bytes(csv_bytes(rows(2)))
    out = str(tmp_path / "o.csv")
    args = [command] if command == "scenarios" else [command, str(source), "--out", out]
    code, output = run(args, scenarios_path=str(path))
    assert code == EXIT_NO_MODEL
    assert "scenario custom: " in output


def test_an_end_use_table_must_rate_every_end_use_a_record_may_carry(tmp_path: Path) -> None:
    directory = copy_reference(tmp_path / "reference")
    table = json.loads((directory / "end_uses.json").read_text("utf-8"))
    table["end_uses"] = [row for row in table["end_uses"] if row["code"] != "medical"]
    (directory / "end_uses.json").write_text(json.dumps(table), "utf-8")
    with pytest.raises(ReferenceDataError, match="rates no sensitivity for medical"):
        load_reference(directory)
