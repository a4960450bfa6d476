"""Scoring the shipped model from its file alone: invariants and golden examples."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from supplier_risk.features import FEATURE_NAMES, MONOTONE
from supplier_risk.model_file import finalise_document, parse_model
from supplier_risk.record import LICENCE_ORDER, SupplierRecord
from supplier_risk.scorer import Scorer
from supplier_risk.scoring import LOGIT_EDGE_MARGIN, LoadedModel, sigmoid
from tests.conftest import TODAY
from tests.invariants import GRID, monotone_violations

Make = Callable[..., SupplierRecord]

# Pinned outputs of models/default.json (rebuilt by the command in models/README.md). A change
# here means the shipped model changed: rebuild on purpose, then update these numbers.
GOLDEN: list[tuple[dict[str, object], float, str]] = [
    ({}, 0.2808531916342176, "high"),
    (
        {"material": "ndpr_oxide", "origin_country": "JP", "china_share": 0.2,
         "licence_type": "not_required", "inventory_buffer_days": 120, "alternate_suppliers": 3},
        0.013642321775122366,
        "low",
    ),
    (
        {"material": "dy_oxide", "licence_type": "pending", "end_use": "defense",
         "destination_country": "US", "inventory_buffer_days": 14},
        0.9455950498932855,
        "critical",
    ),
    (
        {"material": "ndfeb_magnet", "licence_type": "not_required", "inventory_buffer_days": 10,
         "supplier_type": "intermediary"},
        0.11255482766828706,
        "medium",
    ),
    (
        {"material": "ho_oxide", "licence_type": "individual", "end_use": "semiconductor",
         "as_of": "2025-11-20", "inventory_buffer_days": 60, "alternate_suppliers": 1},
        0.25250575308595025,
        "high",
    ),
    (
        {"china_share": None, "alternate_suppliers": None, "supplier_type": None,
         "destination_country": None, "as_of": None, "licence_type": "general",
         "inventory_buffer_days": 90},
        0.10621404977240793,
        "medium",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "probability", "band"), GOLDEN)
def test_shipped_model_scores_golden_examples(
    scorer: Scorer, make_record: Make, overrides: dict[str, object], probability: float, band: str
) -> None:
    result = scorer.score_records([make_record(**overrides)], TODAY)[0]
    # Log-odds are exact sums (SUM_GRID); exp may differ in its last bit from one C library to
    # another, so a few units in the last place are allowed, and no more.
    assert result["probability"] == pytest.approx(probability, rel=1e-15, abs=0)
    assert result["band"] == band
    assert result["risk_score"] == round(100 * probability)


def random_matrix(n: int, seed: int) -> np.ndarray:
    """Return n feature rows spread over (and a little beyond) every input's range."""
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            rng.uniform(-0.1, 1.1, n),
            rng.integers(0, 5, n),
            rng.integers(0, 4, n),
            rng.choice(np.r_[rng.uniform(0, 400, n // 2), rng.uniform(0, 3650, n - n // 2)], n),
            rng.integers(0, 12, n),
            rng.integers(0, 3, n),
            rng.integers(0, 2, n),
        ]
    ).astype(np.float64)


def test_shipped_model_declares_the_domain_directions(scorer: Scorer) -> None:
    assert {f.name: f.monotone for f in scorer.model.file.features} == MONOTONE
    assert MONOTONE["china_share"] == 1
    assert MONOTONE["licence_type"] == 1
    assert MONOTONE["inventory_buffer_days"] == -1
    assert MONOTONE["alternate_suppliers"] == -1


def test_shipped_model_is_monotone_over_grid(scorer: Scorer) -> None:
    worst = monotone_violations(scorer.model)
    assert set(worst) >= {"china_share", "licence_type", "inventory_buffer_days",
                          "alternate_suppliers"}  # fmt: skip
    # Exactly: the tables add up to the rounded trees, each monotone (see training.export).
    assert max(worst.values()) == 0.0, worst


def test_grid_covers_every_licence_status() -> None:
    assert GRID["licence_type"].tolist() == list(range(len(LICENCE_ORDER)))


def test_contributions_add_up_to_logit(scorer: Scorer) -> None:
    matrix = random_matrix(20_000, seed=1)
    scores = scorer.model.score(matrix)
    total = scorer.model.intercept + scores.contributions.sum(axis=1)
    assert np.max(np.abs(total - scores.logit)) <= 1e-9
    recovered = np.log(scores.probability / (1 - scores.probability))
    baseline = math.log(scorer.model.baseline_probability / (1 - scorer.model.baseline_probability))
    assert np.max(np.abs(scores.contributions.sum(axis=1) - (recovered - baseline))) <= 1e-9


def test_shipped_model_sums_exactly(scorer: Scorer) -> None:
    assert scorer.model.exact_sums  # trained onto SUM_GRID: see supplier_risk.scoring


@pytest.fixture(scope="module")
def off_grid_model(model_path: Path) -> LoadedModel:
    """The shipped model nudged off SUM_GRID, as a file trained before it existed."""
    document = json.loads(model_path.read_text("utf-8"))
    for term in document["terms"]:
        if len(term["features"]) == 1:  # nudge each value off the grid, each by its own amount
            term["values"] = [v + 1e-15 * (i % 7) for i, v in enumerate(term["values"])]
    return LoadedModel(parse_model(json.dumps(finalise_document(document))))


def test_model_off_the_sum_grid_scores_alike_on_every_path(off_grid_model: LoadedModel) -> None:
    # A file trained before SUM_GRID existed: sums are taken row by row, correctly rounded.
    model = off_grid_model
    assert not model.exact_sums
    matrix = random_matrix(2_000, seed=6)
    scores = model.score(matrix)
    rows = scores.contributions.tolist()
    assert scores.logit.tolist() == [model.intercept + math.fsum(row) for row in rows]
    for i, row in enumerate(matrix.tolist()):
        assert model.score_one(row)[0] == scores.probability[i]


@pytest.mark.parametrize("grid", ["on", "off"])
def test_rescore_equals_score_to_the_last_bit(
    scorer: Scorer, off_grid_model: LoadedModel, grid: str
) -> None:
    model = scorer.model if grid == "on" else off_grid_model
    base = random_matrix(4_000, seed=3)
    changed = base.copy()
    other = random_matrix(4_000, seed=4)
    rng = np.random.default_rng(5)
    # each row changes none, one or two of its inputs
    for _ in range(2):
        column = np.asarray(rng.integers(0, base.shape[1], size=base.shape[0]))
        keep = rng.random(base.shape[0]) < 0.3
        rows = np.flatnonzero(~keep)
        changed[rows, column[rows]] = other[rows, column[rows]]
    expected = model.score(changed)
    before = model.score(base)
    got = model.rescore_logits(changed, base, before.contributions, before.logit)
    assert np.array_equal(got, expected.logit)
    assert np.array_equal(model.bands_of(got), expected.band)


def test_bands_of_log_odds_equal_bands_of_probabilities_at_the_edges(scorer: Scorer) -> None:
    model = scorer.model
    assert model.logit_edges is not None
    steps = np.arange(-40, 41)
    near = [
        edge + offset
        for edge in model.logit_edges.tolist()
        for offset in (0.0, LOGIT_EDGE_MARGIN, -LOGIT_EDGE_MARGIN, 2e-6, -2e-6)
    ]
    # every float within 40 units in the last place of each edge, and either side of the margin
    logit = np.concatenate(
        [_ulps(z, steps) for z in near] + [np.random.default_rng(1).normal(0, 4, 20_000)]
    )
    expected = np.searchsorted(model.thresholds, sigmoid(logit), side="right")
    assert np.array_equal(model.bands_of(logit), expected)


def _ulps(z: float, steps: NDArray[np.int64]) -> NDArray[np.float64]:
    """Return z moved by each number of units in the last place."""
    moved: NDArray[np.float64] = np.float64(z) + steps * np.spacing(np.float64(z))
    return moved


def test_score_one_equals_numpy_path(scorer: Scorer) -> None:
    matrix = random_matrix(3_000, seed=2)
    scores = scorer.model.score(matrix)
    for i, row in enumerate(matrix.tolist()):
        probability, contributions = scorer.model.score_one(row)
        assert probability == scores.probability[i]
        assert contributions == scores.contributions[i].tolist()


def test_band_follows_thresholds(scorer: Scorer) -> None:
    model = scorer.model
    for probability, band in [(0.05, "low"), (0.1, "medium"), (0.3, "high"), (0.5, "critical")]:
        assert model.band_of(probability) == band


def test_score_records_never_falls_as_china_share_rises(scorer: Scorer, make_record: Make) -> None:
    for origin in ("CN", "JP"):
        records = [
            make_record(china_share=s / 10, origin_country=origin, material=m)
            for m in ("ndfeb_magnet", "ndfeb_magnet_heavy", "ho_oxide")
            for s in range(11)
        ]
        p = np.array([r["probability"] for r in scorer.score_records(records, TODAY)]).reshape(
            3, 11
        )
        assert (np.diff(p, axis=1) >= 0).all()


@pytest.mark.parametrize(("field", "values"), [
    ("inventory_buffer_days", [0, 10, 30, 45, 60, 90, 180, 365, 3650]),
    ("alternate_suppliers", [0, 1, 2, 3, 5, 10, 1000]),
])  # fmt: skip
def test_score_records_never_rises_with_buffer_or_alternates(
    scorer: Scorer, make_record: Make, field: str, values: list[float]
) -> None:
    for licence in LICENCE_ORDER:
        records = [make_record(licence_type=licence, **{field: v}) for v in values]
        p = [r["probability"] for r in scorer.score_records(records, TODAY, explain=False)]
        assert all(b <= a for a, b in itertools.pairwise(p)), (licence, p)


def test_score_records_follows_licence_order(scorer: Scorer, make_record: Make) -> None:
    # A supplier outside China of an uncontrolled material: no policy rule rewrites the licence.
    for end_use in ("industrial", "automotive", "semiconductor", "defense"):
        records = [
            make_record(licence_type=v, end_use=end_use, origin_country="JP", material="ndpr_oxide")
            for v in LICENCE_ORDER
        ]
        p = [r["probability"] for r in scorer.score_records(records, TODAY, explain=False)]
        assert p == sorted(p), (end_use, p)


def test_feature_names_match_the_file(scorer: Scorer) -> None:
    assert tuple(f.name for f in scorer.model.file.features) == FEATURE_NAMES


def test_baseline_probability_is_what_zero_contributions_score(scorer: Scorer) -> None:
    # The baseline went through its own formula once and sat one bit off every score's sigmoid.
    model = scorer.model
    assert model.baseline_probability == float(sigmoid(np.array([model.intercept]))[0])
