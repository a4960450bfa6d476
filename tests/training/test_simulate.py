"""The domain simulator: deterministic, in the training-file shape, with a plausible label."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from supplier_risk.history import LABEL
from supplier_risk.record import RECORD_FIELDS
from supplier_risk.reference import load_reference
from training import shipments, simulate
from training.simulate import SimulationConfig, write_history


def test_write_history_is_deterministic_byte_for_byte(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write_history(SimulationConfig(rows=5_000, seed=42), a)
    write_history(SimulationConfig(rows=5_000, seed=42), b)
    write_history(SimulationConfig(rows=5_000, seed=43), c)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("seed", [0, 1, 20261128])
def test_simulate_positive_rate_is_between_10_and_35_percent(seed: int) -> None:
    frame = simulate.simulate(SimulationConfig(rows=50_000, seed=seed))
    assert 0.10 <= frame[LABEL].mean() <= 0.35


def test_simulate_writes_only_contract_columns() -> None:
    frame = simulate.simulate(SimulationConfig(rows=1_000, seed=5))
    assert list(frame.columns) == [*RECORD_FIELDS, LABEL]


def test_simulate_spreads_as_of_over_2025_and_2026() -> None:
    frame = simulate.simulate(SimulationConfig(rows=20_000, seed=5))
    months = pd.to_datetime(frame["as_of"]).dt.to_period("M")
    assert months.min() == pd.Period("2025-01")
    assert months.max() == pd.Period("2026-12")
    assert months.nunique() == 24


def test_simulate_mixes_every_category() -> None:
    frame = simulate.simulate(SimulationConfig(rows=20_000, seed=5))
    assert set(frame["licence_type"]) == {"not_required", "general", "individual", "pending",
                                          "denied"}  # fmt: skip
    assert frame["end_use"].nunique() == 8
    assert frame["material"].nunique() == 20
    assert 0.6 < (frame["origin_country"] == "CN").mean() < 0.95


def test_simulate_disrupts_more_with_open_licences_and_short_buffers() -> None:
    frame = simulate.simulate(SimulationConfig(rows=100_000, seed=6))
    by_licence = frame.groupby("licence_type")[LABEL].mean()
    assert by_licence["not_required"] < by_licence["individual"] < by_licence["denied"]
    short = frame["inventory_buffer_days"] < 30
    long = frame["inventory_buffer_days"] > 120
    licensed = frame["licence_type"].isin(["individual", "pending"])
    assert frame[licensed & short][LABEL].mean() > frame[licensed & long][LABEL].mean()


def _numeric_constants(module: object) -> list[tuple[str, int]]:
    """Return the upper-case module-level names holding numbers or tables, with their lines."""
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    out = []
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        if isinstance(target, ast.Name) and target.id.isupper():
            out.append((target.id, node.lineno))
    return out


def test_every_simulator_parameter_cites_domain_or_says_assumption() -> None:
    source = inspect.getsource(simulate).splitlines()
    missing = []
    for name, line in _numeric_constants(simulate):
        # The parameter's own line, or the nearest comment block above it in its paragraph,
        # must give its source.
        cited = [source[line - 1]]
        above = line - 2
        while above >= 0 and source[above].strip() and not source[above].lstrip().startswith("#"):
            above -= 1
        while above >= 0 and source[above].lstrip().startswith("#"):
            cited.append(source[above])
            above -= 1
        if not re.search(r"DOMAIN\.md|CONTRACT\.md|[Aa]ssumption|issue 3", "\n".join(cited)):
            missing.append(name)
    assert missing == []


def test_simulator_dates_are_the_policy_tables() -> None:
    # The simulator writes these dates out (DOMAIN.md); the scorer reads them from the policy
    # table: a history labelled on other dates would teach the model the wrong switch-overs.
    policy = load_reference().policy
    assert policy.general_licences is not None
    assert (
        dt.date.fromisoformat(simulate.GENERAL_LICENCE_FROM)
        == policy.general_licences.first_granted
    )
    japan = next(r for r in policy.rules if r.name == "japan_military_end_use_ban")
    assert dt.date.fromisoformat(simulate.JAPAN_MILITARY_BAN_FROM) == japan.in_force
    assert (
        dt.date.fromisoformat(simulate.APPROVAL_CURVE[0][0])
        == policy.list_named("april_2025").in_force
    )
    april = np.datetime64(policy.list_named("april_2025").in_force, "D")
    assert np.datetime64(simulate.SLOWDOWN[0], "D") == april
    # The second generator writes its dates out on purpose, from the same DOMAIN.md facts.
    assert april == shipments.APRIL_LIST_FROM
    assert np.datetime64(policy.general_licences.first_granted, "D") == shipments.GENERAL_FROM
