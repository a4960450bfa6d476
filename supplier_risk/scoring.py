"""Score feature matrices from a model file alone: table lookups and NumPy, no estimator."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from supplier_risk.errors import ModelFileError
from supplier_risk.features import FEATURE_LEVELS, FEATURE_NAMES, MONOTONE, feature_kind
from supplier_risk.model_file import ModelFile, load_model_file

FloatArray = NDArray[np.float64]

SUM_GRID = 2.0**-44
"""Trained tables and intercepts are multiples of this (about 5.7e-14 in log-odds).

A record's log-odds are then an exact sum, whatever the order of adding: NumPy's, a
spreadsheet's, or math.fsum all give the same number, to the last bit.
"""


def snap_to_sum_grid(values: FloatArray) -> FloatArray:
    """Return values rounded to the nearest multiple of :data:`SUM_GRID`."""
    return np.round(values / SUM_GRID) * SUM_GRID  # exact steps: SUM_GRID is a power of two


def sums_are_exact(intercept: float, tables: Sequence[FloatArray]) -> bool:
    """Return whether the intercept plus any one value per table is summed exactly.

    True when every value is a multiple of :data:`SUM_GRID` and the largest possible sum stays
    below 2**53 multiples of it: every partial sum, in any order, is then a float.
    """
    values = np.concatenate([[intercept], *(np.ravel(t) for t in tables)]) / SUM_GRID
    if not np.array_equal(values, np.round(values)):
        return False
    bound = abs(intercept) + sum(float(np.abs(t).max(initial=0.0)) for t in tables)
    return bound / SUM_GRID < 2.0**53


@dataclass(frozen=True)
class CompiledTerm:
    """A term of the model file, as arrays ready for lookups."""

    name: str
    columns: tuple[int, ...]
    edges: tuple[FloatArray, ...]
    values: FloatArray
    edges_list: tuple[list[float], ...]
    values_list: list[float] | list[list[float]]

    def lookup(self, matrix: FloatArray) -> FloatArray:
        """Return this term's value for each row of a feature matrix."""
        index = tuple(
            np.searchsorted(e, matrix[:, c], side="left")
            for e, c in zip(self.edges, self.columns, strict=True)
        )
        return self.values[index]

    def lookup_one(self, row: Sequence[float]) -> float:
        """Return this term's value for one feature row, in pure Python."""
        if len(self.columns) == 1:
            flat: list[float] = self.values_list  # type: ignore[assignment]
            return flat[bisect_left(self.edges_list[0], row[self.columns[0]])]
        table: list[list[float]] = self.values_list  # type: ignore[assignment]
        i = bisect_left(self.edges_list[0], row[self.columns[0]])
        j = bisect_left(self.edges_list[1], row[self.columns[1]])
        return table[i][j]


@dataclass(frozen=True)
class Scores:
    """Probabilities and exact per-term contributions for a batch."""

    logit: FloatArray
    probability: FloatArray
    contributions: FloatArray
    """shape (n, number of terms), log-odds relative to the baseline"""
    band: NDArray[np.int64]
    """index into the model's band labels"""


def log_odds(intercept: float, contributions: Iterable[float]) -> float:
    """Return the intercept plus the correctly rounded sum of the contributions.

    Every path sums this way (:meth:`LoadedModel.logits` row by row), so a record gets the
    same log-odds to the last bit whether it is scored alone, in a batch or as a recourse
    candidate. A plain left-to-right sum would not do: terms that trade log-odds between them
    (a buffer's main effect and its licence pair) can then rise by one unit in the last place
    where the exact sum stays flat, and a score would seem to rise with a longer buffer.
    """
    return intercept + math.fsum(contributions)


LOGIT_EDGE_MARGIN = 1e-6
"""Log-odds this near a band threshold's are banded by their exact probability.

Elsewhere a probability is at least about t(1 - t) * 1e-6 from the threshold t, billions of
times what rounding in sigmoid() or in the threshold's log-odds can move (a few 2^-53)."""


def sigmoid_one(z: float) -> float:
    """Return the logistic function of one log-odds, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def sigmoid(z: FloatArray) -> FloatArray:
    """Return :func:`sigmoid_one` of each element, bit for bit.

    The exponentials come from ``math.exp``: NumPy's own exp may differ from it in the last
    bit, and then a batch and a single request would answer differently for one record.
    """
    e = np.fromiter(map(math.exp, (-np.abs(z)).tolist()), dtype=np.float64, count=z.size)
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _check_feature_coding(model: ModelFile) -> None:
    """Raise ModelFileError where a file codes an input otherwise than this release scores it.

    The codes are this release's (features.py): a file naming other levels or directions would
    be scored with codes it does not mean, and describe itself wrongly in GET /v1/model.
    """
    for index, feature in enumerate(model.features):
        release = {
            "kind": feature_kind(feature.name),
            "levels": FEATURE_LEVELS.get(feature.name),
            "monotone": MONOTONE[feature.name],
        }
        for field, expected in release.items():
            found = getattr(feature, field)
            if found != expected:
                shown = list(expected) if isinstance(expected, tuple) else expected
                raise ModelFileError(
                    f"model file features.{index}.{field} ({feature.name}) is "
                    f"{list(found) if isinstance(found, tuple) else found!r}; this release "
                    f"codes {feature.name} as {shown!r}"
                )


MONOTONE_TOLERANCE = 1e-9
"""Log-odds a step may go against its declared direction (older files sum with rounding)."""


def least_steps(
    terms: Sequence[CompiledTerm], column: int, direction: int
) -> tuple[FloatArray, FloatArray]:
    """Return an input's edges and, at each, the least step of the log-odds in ``direction``
    as the input crosses it, whatever the other inputs are (both empty: no table steps there).

    In an additive model the step of the sum is the step of each table over the input, and
    its least is the sum of each table's least step: no two tables share another input.
    """
    over = [t for t in terms if column in t.columns]
    if not over:
        return np.empty(0), np.empty(0)
    edges = np.unique(np.concatenate([t.edges[t.columns.index(column)] for t in over]))
    if edges.size == 0:  # tables over the input, but flat along it
        return edges, np.empty(0)
    points = np.append(edges, np.inf)  # one point in each interval every table agrees on
    worst = np.zeros(edges.size)
    for term in over:
        axis = term.columns.index(column)
        index = np.searchsorted(term.edges[axis], points, side="left")
        steps = np.diff(np.take(term.values, index, axis=axis), axis=axis) * direction
        worst = worst + np.moveaxis(steps, axis, 0).reshape(edges.size, -1).min(axis=1)
    return edges, worst


def _check_monotone(terms: Sequence[CompiledTerm], model: ModelFile) -> None:
    """Raise ModelFileError unless the log-odds move in each input's declared direction.

    Recourse relies on it: the nearest change that lowers the band is found by a search that
    assumes it.
    """
    for column, feature in enumerate(model.features):
        if feature.monotone == 0:
            continue
        edges, worst = least_steps(terms, column, feature.monotone)
        if worst.size and worst.min() < -MONOTONE_TOLERANCE:
            at = int(np.argmin(worst))
            raise ModelFileError(
                f"model file breaks the declared direction of {feature.name} (monotone "
                f"{feature.monotone}): the log-odds move {-worst[at]:.3g} the other way from "
                f"{feature.name} <= {edges[at]:g} to above it"
            )


class LoadedModel:
    """A verified model file compiled for scoring."""

    def __init__(self, model: ModelFile, source: str = "") -> None:
        self.file = model
        self.source = source
        names = [f.name for f in model.features]
        if tuple(names) != FEATURE_NAMES:
            raise ModelFileError(
                f"model features {names} do not match this release's inputs {list(FEATURE_NAMES)}"
            )
        _check_feature_coding(model)
        self.terms = tuple(
            self._compile(t.name, t.features, t.edges, t.values) for t in model.terms
        )
        self.term_names: tuple[str, ...] = tuple(t.name for t in self.terms)
        _check_monotone(self.terms, model)
        self.intercept = float(model.intercept)
        self.thresholds = np.asarray(model.bands.thresholds, dtype=np.float64)
        self.thresholds_list = list(model.bands.thresholds)
        self.logit_edges: FloatArray | None = (
            np.log(self.thresholds) - np.log1p(-self.thresholds)
            if all(1e-6 < t < 1 - 1e-6 for t in self.thresholds_list)
            else None  # thresholds this close to 0 or 1: banded by probability (slower)
        )
        """the thresholds as log-odds, for banding without probabilities (see bands_of)"""
        self.band_labels: tuple[str, ...] = model.bands.labels
        # The same function as every score: a record whose terms sum to 0 scores exactly this.
        self.baseline_probability = sigmoid_one(self.intercept)
        self.exact_sums = sums_are_exact(self.intercept, [t.values for t in self.terms])
        """whether NumPy's sum of a row gives math.fsum's answer (see SUM_GRID)"""

    @staticmethod
    def _compile(
        name: str,
        features: tuple[str, ...],
        edges: tuple[tuple[float, ...], ...],
        values: tuple[float, ...] | tuple[tuple[float, ...], ...],
    ) -> CompiledTerm:
        columns = tuple(FEATURE_NAMES.index(f) for f in features)
        values_list = [list(v) if isinstance(v, tuple) else v for v in values]
        return CompiledTerm(
            name=name,
            columns=columns,
            edges=tuple(np.asarray(e, dtype=np.float64) for e in edges),
            values=np.asarray(values, dtype=np.float64),
            edges_list=tuple(list(e) for e in edges),
            values_list=values_list,  # type: ignore[arg-type]
        )

    @property
    def version(self) -> str:
        """Return the model's version string."""
        return self.file.version

    @property
    def sha256(self) -> str:
        """Return the sha256 of the model file's content."""
        return self.file.sha256

    def score(self, matrix: FloatArray) -> Scores:
        """Score a feature matrix of shape (n, len(FEATURE_NAMES))."""
        contributions = np.empty((matrix.shape[0], len(self.terms)), dtype=np.float64)
        for k, term in enumerate(self.terms):
            contributions[:, k] = term.lookup(matrix)
        return self._scores(contributions)

    def rescore_logits(
        self,
        matrix: FloatArray,
        base_matrix: FloatArray,
        base_contributions: FloatArray,
        base_logit: FloatArray,
    ) -> FloatArray:
        """Return the log-odds of rows that differ from scored base rows in a few inputs.

        Only the terms whose inputs changed are looked up again. With exact sums (SUM_GRID)
        each changed term's old value is taken out of the base log-odds and its new one added:
        every partial sum is the intercept plus some of the values, so exact, and the result is
        score()'s log-odds to the last bit.
        """
        changed = matrix != base_matrix
        if not self.exact_sums:
            contributions = base_contributions.copy()
            for k, term in enumerate(self.terms):
                rows = np.flatnonzero(changed[:, term.columns].any(axis=1))
                if rows.size:
                    contributions[rows, k] = term.lookup(matrix[rows])
            return self.logits(contributions)
        logit = base_logit.copy()
        for k, term in enumerate(self.terms):
            rows = np.flatnonzero(changed[:, term.columns].any(axis=1))
            if rows.size:
                logit[rows] = (logit[rows] - base_contributions[rows, k]) + term.lookup(
                    matrix[rows]
                )
        return logit

    def bands_of(self, logit: FloatArray) -> NDArray[np.int64]:
        """Return the band of each log-odds: score()'s band, without its exact probabilities.

        Log-odds are banded against the thresholds' own log-odds; only those within
        LOGIT_EDGE_MARGIN of one, where rounding could decide, go through sigmoid() first.
        """
        edges = self.logit_edges
        if edges is None:
            return self._band_of_probability(sigmoid(logit))
        band = np.searchsorted(edges, logit, side="right").astype(np.int64)
        below = np.searchsorted(edges - LOGIT_EDGE_MARGIN, logit, side="right")
        above = np.searchsorted(edges + LOGIT_EDGE_MARGIN, logit, side="right")
        near = np.flatnonzero(below != above)
        if near.size:
            band[near] = self._band_of_probability(sigmoid(logit[near]))
        return band

    def _band_of_probability(self, probability: FloatArray) -> NDArray[np.int64]:
        """Return each probability's band: the thresholds at or below it (one rule for all)."""
        return np.searchsorted(self.thresholds, probability, side="right").astype(np.int64)

    def _scores(self, contributions: FloatArray) -> Scores:
        """Return the scores of rows whose contributions are known (one way for every path)."""
        logit = self.logits(contributions)
        probability = sigmoid(logit)
        return Scores(logit, probability, contributions, self._band_of_probability(probability))

    def logits(self, contributions: FloatArray) -> FloatArray:
        """Return each row's log-odds from its contributions, summed as :func:`log_odds` does."""
        if self.exact_sums:
            exact: FloatArray = self.intercept + contributions.sum(axis=1)
            return exact
        # A model file from before SUM_GRID: correctly rounded sums, row by row (slower).
        sums = np.fromiter(
            map(math.fsum, contributions.tolist()), dtype=np.float64, count=contributions.shape[0]
        )
        return self.intercept + sums

    def logit_of(self, matrix: FloatArray) -> FloatArray:
        """Return only the log-odds of each row (no contributions kept)."""
        logit = np.full(matrix.shape[0], self.intercept, dtype=np.float64)
        for term in self.terms:
            logit += term.lookup(matrix)
        return logit

    def score_one(self, row: Sequence[float]) -> tuple[float, list[float]]:
        """Return the probability and contributions of one feature row, in pure Python."""
        contributions = [t.lookup_one(row) for t in self.terms]
        return sigmoid_one(log_odds(self.intercept, contributions)), contributions

    def band_of(self, probability: float) -> str:
        """Return the band label of one probability."""
        from bisect import bisect_right

        return self.band_labels[bisect_right(self.thresholds_list, probability)]


def load_model(path: Path) -> LoadedModel:
    """Read, verify and compile a model file."""
    return LoadedModel(load_model_file(path), source=str(path))
