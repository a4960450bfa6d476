"""Fit the interpretable model, choose its interaction pairs, and fit the two references."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from supplier_risk.features import FEATURE_NAMES, MONOTONE

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

Pair = tuple[str, str]
DECLARED_PAIRS: tuple[Pair, ...] = (("licence_type", "end_use"),)
"""Always in the model: DOMAIN.md says risk rises sharply for defense under open licences."""
CANDIDATE_PAIRS: tuple[Pair, ...] = (
    ("licence_type", "inventory_buffer_days"),  # review cycles against stock (DOMAIN.md)
    ("china_share", "controlled"),  # Chinese content matters most where licensing applies
    ("licence_type", "controlled"),
    ("licence_type", "china_share"),
    ("inventory_buffer_days", "alternate_suppliers"),  # switching needs time
    ("china_share", "inventory_buffer_days"),
    ("end_use", "controlled"),
    ("licence_type", "supplier_type"),  # smaller firms and traders stayed on individual files
    ("supplier_type", "inventory_buffer_days"),  # slower files eat more of the stock
    ("end_use", "inventory_buffer_days"),  # case-by-case reviews for sensitive uses take longer
    ("licence_type", "alternate_suppliers"),  # alternates matter where the licence is at risk
)
"""Pairs with a domain story; each joins the model only if it earns its place on held-out data."""
MIN_LOG_LOSS_GAIN = 2e-4
"""Inner held-out log-loss gain a pair must bring to be kept."""
SELECTION_Z = 2.0
"""A kept pair's gain must be this many standard errors of the paired per-row difference."""
MAX_SELECTED_PAIRS = 4
"""Most pairs added to the declared one: keeps the model readable and training fast."""
SELECTION_ROWS = 60_000
SELECTION_OVERRIDES: dict[str, Any] = {"learning_rate": 0.2}
"""Pair selection ranks candidates on a subsample with a faster learning rate (measured: the
same pairs as at 120,000 rows and 0.1 on both test histories, in a third of the time)."""

WORKERS = min(2, os.cpu_count() or 1)
"""Fits run side by side, one thread each (see parallel_map)."""

HGB_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_iter": 1000,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 30,
}

SEPARATED_LOSS_FRACTION = 1e-3
"""Boosting also stops once the validation log loss is below this fraction of the constant
model's (the first score): the labels are then separated, and each tree only makes sure answers
surer. A history that does not separate stays far above it (the shipped one at about 0.76)."""


class Booster(HistGradientBoostingClassifier):  # type: ignore[misc]
    """HistGradientBoostingClassifier that also stops early when the validation loss vanishes."""

    def _should_stop(self, scores: list[float]) -> bool:
        """Return True when scikit-learn's rule stops, or when the labels are separated."""
        # The scores are negated losses. On separable labels the loss falls toward 0 by more
        # than tol (1e-7) every n_iter_no_change iterations for ever, so scikit-learn's rule
        # never stops: 1,000 iterations per fit and log-odds beyond 18 on 3,000 rows where
        # every disruption had a half-day buffer. Where it does not separate, this never
        # holds and the fit, stopping where scikit-learn's rule stops, is unchanged.
        separated = -scores[-1] < SEPARATED_LOSS_FRACTION * -scores[0]
        return bool(super()._should_stop(scores)) or separated


def interaction_groups(pairs: tuple[Pair, ...]) -> list[list[int]]:
    """Return sklearn's interaction_cst: the pairs, plus a singleton for every other input."""
    groups = [[FEATURE_NAMES.index(a), FEATURE_NAMES.index(b)] for a, b in pairs]
    used = {i for g in groups for i in g}
    return groups + [[i] for i in range(len(FEATURE_NAMES)) if i not in used]


def constrained_estimator(pairs: tuple[Pair, ...], seed: int, **overrides: Any) -> Booster:
    """Return the additive, monotone estimator with the given interaction pairs."""
    return Booster(
        monotonic_cst=[MONOTONE[f] for f in FEATURE_NAMES],
        interaction_cst=interaction_groups(pairs),
        random_state=seed,
        **{**HGB_PARAMS, **overrides},
    )


_T = TypeVar("_T")
_R = TypeVar("_R")


def parallel_map(work: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """Run ``work`` over ``items`` in WORKERS threads, each fit single-threaded; keep the order.

    scikit-learn's OpenMP threads busy-wait at every boosting iteration: on a shared 2-core
    machine one fit with two threads ran up to ten times slower than with one (measured), while
    independent single-threaded fits side by side use both cores without waiting on each other.
    The results do not depend on scheduling: every fit has its own fixed random_state.
    """

    def single_threaded(item: _T) -> _R:
        # OpenMP's thread count is a per-thread setting: the limit set by the caller did not
        # reach the pool's threads, whose fits ran two OpenMP threads each (four on two cores,
        # busy-waiting: pair selection on 3,000 rows took 2.6 s instead of 1.1 s, 12 s under load).
        with threadpool_limits(1):
            return work(item)

    with threadpool_limits(1), ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(single_threaded, items))


@dataclass
class PairSelection:
    """Which pairs were tried, what each gained, and which were kept."""

    base_log_loss: float
    gains: dict[str, float] = field(default_factory=dict)
    kept: tuple[Pair, ...] = ()


def select_pairs(x: FloatArray, y: IntArray, seed: int) -> PairSelection:
    """Add candidate pairs greedily while the best one lowers log loss on an inner held-out split.

    Pairs are judged together, not one by one against the bare model: one pair can be worth
    little alone and much once another is in (measured on the shipment-level history).
    """
    if x.shape[0] > SELECTION_ROWS:
        keep = np.random.default_rng(seed).choice(x.shape[0], SELECTION_ROWS, replace=False)
        x, y = x[keep], y[keep]
    x_fit, x_val, y_fit, y_val = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )

    def row_losses(pairs: tuple[Pair, ...]) -> FloatArray:
        model = constrained_estimator(pairs, seed, **SELECTION_OVERRIDES).fit(x_fit, y_fit)
        p = np.clip(model.predict_proba(x_val)[:, 1], 1e-15, 1 - 1e-15)
        return np.asarray(-np.where(y_val == 1, np.log(p), np.log1p(-p)), dtype=np.float64)

    (current,) = parallel_map(row_losses, [DECLARED_PAIRS])  # single-threaded, as the others
    selection = PairSelection(base_log_loss=float(current.mean()))
    kept: list[Pair] = []
    remaining = list(CANDIDATE_PAIRS)
    while remaining and len(kept) < MAX_SELECTED_PAIRS:
        trials = [(*DECLARED_PAIRS, *kept, pair) for pair in remaining]
        losses = dict(zip(remaining, parallel_map(row_losses, trials), strict=True))
        for pair, value in losses.items():
            selection.gains[" x ".join(pair)] = float(current.mean() - value.mean())
        best = min(remaining, key=lambda p: float(losses[p].mean()))
        # The gain must clear both a fixed floor and the noise of the inner split: on a small
        # history a few hundred validation rows make any pair look useful now and then.
        difference = current - losses[best]
        noise = SELECTION_Z * float(difference.std()) / np.sqrt(difference.size)
        if float(difference.mean()) < max(MIN_LOG_LOSS_GAIN, noise):
            break
        kept.append(best)
        remaining.remove(best)
        current = losses[best]
    selection.kept = tuple(kept)
    return selection


def fit_final(
    x: FloatArray, y: IntArray, seed: int, pairs: tuple[Pair, ...]
) -> tuple[Booster, dict[str, Any]]:
    """Fit our estimator and the two references (plain logistic regression, unconstrained HGB)."""
    estimators: list[Any] = [
        constrained_estimator(pairs, seed),
        Booster(random_state=seed, **HGB_PARAMS),  # stops by the same rule as ours
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    ]
    ours, free, logistic = parallel_map(lambda e: e.fit(x, y), estimators)
    return ours, {"logistic_regression": logistic, "hgb_unconstrained": free}
