"""The exported model file is the fitted estimator, as tables: same probabilities, same shape."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from supplier_risk import scoring
from supplier_risk.errors import ModelFileError
from supplier_risk.features import FEATURE_NAMES
from supplier_risk.model_file import finalise_document, parse_model
from supplier_risk.reference import load_reference
from supplier_risk.scoring import LoadedModel
from tests.conftest import TODAY
from tests.invariants import GRID, monotone_violations
from tests.training.conftest import Trained
from training.train import train_model

ROWS = 10_000


def edge_rows(trained: Trained) -> np.ndarray:
    """Return rows placing every input exactly on, and just beyond, each of its split points."""
    rng = np.random.default_rng(3)
    base = trained.features[rng.choice(trained.features.shape[0], 1)]
    rows = []
    for term in trained.model.terms:
        for column, edges in zip(term.columns, term.edges, strict=True):
            for edge in edges:
                for value in (edge, np.nextafter(edge, np.inf), np.nextafter(edge, -np.inf)):
                    row = base.copy()
                    row[0, column] = value
                    rows.append(row)
    return np.vstack(rows)


@pytest.fixture(params=["simulated", "shipments"])
def trained(request: pytest.FixtureRequest) -> Trained:
    """Return each session-trained model in turn."""
    model: Trained = request.getfixturevalue(request.param)
    return model


def test_exported_file_reproduces_estimator_on_10000_rows(trained: Trained) -> None:
    matrix = trained.features[:ROWS]
    assert matrix.shape == (ROWS, len(FEATURE_NAMES))
    ours = trained.model.score(matrix).probability
    theirs = trained.report.estimator.predict_proba(matrix)[:, 1]
    assert np.max(np.abs(ours - theirs)) <= 1e-9


def test_exported_file_reproduces_estimator_on_split_points(trained: Trained) -> None:
    matrix = edge_rows(trained)
    assert matrix.shape[0] > 100
    ours = trained.model.score(matrix).probability
    theirs = trained.report.estimator.predict_proba(matrix)[:, 1]
    assert np.max(np.abs(ours - theirs)) <= 1e-9


def test_exported_file_reproduces_estimator_off_the_data(trained: Trained) -> None:
    rng = np.random.default_rng(4)
    matrix = np.column_stack([rng.choice(GRID[name], ROWS) for name in FEATURE_NAMES])
    ours = trained.model.score(matrix).probability
    theirs = trained.report.estimator.predict_proba(matrix)[:, 1]
    assert np.max(np.abs(ours - theirs)) <= 1e-9


def test_contributions_add_up_to_logit_exactly_in_any_order(trained: Trained) -> None:
    # The exported numbers are on SUM_GRID: every order of adding gives the same float.
    assert trained.model.exact_sums
    scores = trained.model.score(trained.features)
    intercept, contributions = trained.model.intercept, scores.contributions
    assert np.array_equal(intercept + contributions[:, ::-1].sum(axis=1), scores.logit)
    in_order = np.full(len(contributions), intercept)
    for k in range(contributions.shape[1]):
        in_order += contributions[:, k]
    assert np.array_equal(in_order, scores.logit)
    fsums = [intercept + math.fsum(row) for row in contributions[:500].tolist()]
    assert fsums == scores.logit[:500].tolist()


def test_contributions_are_centred_on_training_rows(trained: Trained) -> None:
    # The baseline is the average training record: each term averages 0 over the data.
    scores = trained.model.score(trained.features)
    assert np.abs(scores.contributions.mean(axis=0)).max() < 0.05


def test_trained_model_is_monotone_over_grid(trained: Trained) -> None:
    # Exactly, not within rounding: one grid unit (5.7e-14) against the direction is a supplier
    # whose probability rises with a longer buffer, in the 17 digits the API answers with.
    worst = monotone_violations(trained.model)
    assert max(worst.values()) == 0.0, worst


def test_trained_model_keeps_licence_by_end_use_pair(trained: Trained) -> None:
    assert "licence_type x end_use" in trained.model.term_names
    assert all(len(t.columns) <= 2 for t in trained.model.terms)


def test_monotone_check_catches_a_reversed_table(
    simulated: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both checks must be able to fail: reverse the china_share table of a trained model.
    document = json.loads(simulated.report.path.read_text("utf-8"))
    term = next(t for t in document["terms"] if t["features"] == ["china_share"])
    term["values"] = term["values"][::-1]
    model = parse_model(json.dumps(finalise_document(document)))
    with pytest.raises(ModelFileError, match="breaks the declared direction of china_share"):
        LoadedModel(model)
    monkeypatch.setattr(scoring, "_check_monotone", lambda *args: None)  # the grid check's turn
    assert monotone_violations(LoadedModel(model))["china_share"] > 0.01


def test_training_twice_gives_the_same_tables(simulated: Trained, tmp_path: Path) -> None:
    again = train_model(
        simulated.history, load_reference(), tmp_path / "again.json", seed=7, today=TODAY
    )
    first = json.loads(simulated.report.path.read_text("utf-8"))
    second = json.loads(again.path.read_text("utf-8"))
    assert second["terms"] == first["terms"]
    assert second["intercept"] == first["intercept"]
    assert second["metrics"] == first["metrics"]


def test_the_report_counts_the_rows_as_the_model_file_does(simulated: Trained) -> None:
    # It said "trained on N rows" of every valid row while the file's training.rows held the
    # 80% fitted: two different numbers under one name.
    from training.report import format_report

    training = simulated.report.document["training"]
    first = format_report(simulated.report).splitlines()[0]
    assert first.startswith(
        f"trained on {training['rows']:,} of {simulated.report.rows:,} valid rows "
        f"(the other {training['held_out_rows']:,} held out)"
    )
    assert training["rows"] + training["held_out_rows"] == simulated.report.rows
