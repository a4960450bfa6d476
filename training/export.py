"""Turn a fitted, interaction-constrained HistGradientBoostingClassifier into exact lookup tables.

With ``interaction_cst`` every root-to-leaf path of every tree splits on the features of one
group only, so each leaf value is a step function of at most two inputs. Summing leaves by the
set of features on their path gives one table per set; the tables are then purified (the
two-input tables keep only their pure interaction, their main effects move into the one-input
tables, under the product of the training marginals) and centred on the training mean, which
moves into the intercept. The sum of the tables reproduces the estimator's raw prediction
exactly, up to floating-point rounding.

Every number is a multiple of SUM_GRID from the start: each leaf value, and each mean that
purifying and centring move between tables. All later arithmetic on them is then exact, so
the tables add up to the sum of the rounded leaves, to the last bit. Each tree respects the
monotone constraints and rounding keeps the order of its leaves, so that sum is exactly
monotone too. (Rounding the finished tables one by one did not keep it: a step between two
equal totals could come out one grid unit against the constraint, and in the shipped model a
120-day buffer scored above a 90-day one.)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from supplier_risk.scoring import snap_to_sum_grid

FloatArray = NDArray[np.float64]


@dataclass
class Table:
    """A step-function table over one or two feature columns."""

    columns: tuple[int, ...]
    edges: list[FloatArray]
    values: FloatArray

    def lookup(self, matrix: FloatArray) -> FloatArray:
        """Return the table's value for each row."""
        index = tuple(
            np.searchsorted(e, matrix[:, c], side="left")
            for e, c in zip(self.edges, self.columns, strict=True)
        )
        return np.asarray(self.values[index], dtype=np.float64)


def _representatives(edges: FloatArray) -> FloatArray:
    """Return one point inside each bin (x <= e0, e0 < x <= e1, ..., x > e_last)."""
    if edges.size == 0:
        return np.zeros(1)
    return np.append(edges, np.nextafter(edges[-1], np.inf))


def _leaf_paths(nodes: Any) -> list[tuple[int, list[tuple[int, float, bool]]]]:
    """Return (leaf index, [(feature, threshold, went_left)]) for each leaf of a tree."""
    out: list[tuple[int, list[tuple[int, float, bool]]]] = []
    stack: list[tuple[int, list[tuple[int, float, bool]]]] = [(0, [])]
    while stack:
        i, path = stack.pop()
        node = nodes[i]
        if node["is_leaf"]:
            out.append((i, path))
            continue
        f, t = int(node["feature_idx"]), float(node["num_threshold"])
        stack.append((int(node["left"]), [*path, (f, t, True)]))
        stack.append((int(node["right"]), [*path, (f, t, False)]))
    return out


def raw_tables(estimator: Any) -> tuple[float, dict[tuple[int, ...], Table]]:
    """Return the constant and one table per set of features used together on a path."""
    constant = _on_grid(float(np.ravel(estimator._baseline_prediction)[0]))
    leaves: dict[tuple[int, ...], list[tuple[float, list[tuple[int, float, bool]]]]] = defaultdict(
        list
    )
    for (predictor,) in estimator._predictors:
        nodes = predictor.nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits are not supported by the exporter")
        for leaf, path in _leaf_paths(nodes):
            value = _on_grid(float(nodes[leaf]["value"]))
            if not path:
                constant += value
                continue
            key = tuple(sorted({f for f, _, _ in path}))
            if len(key) > 2:
                raise ValueError(f"a path uses {len(key)} features; groups of two at most")
            leaves[key].append((value, path))
    tables: dict[tuple[int, ...], Table] = {}
    for key, items in leaves.items():
        edges = [
            np.unique(np.array([t for _, path in items for f, t, _ in path if f == c])) for c in key
        ]
        grids = np.meshgrid(*[_representatives(e) for e in edges], indexing="ij")
        points = {c: g.ravel() for c, g in zip(key, grids, strict=True)}
        total = np.zeros(grids[0].size)
        for value, path in items:
            inside = np.ones(total.size, dtype=bool)
            for f, t, left in path:
                inside &= (points[f] <= t) if left else (points[f] > t)
            total[inside] += value
        tables[key] = Table(key, edges, total.reshape(grids[0].shape))
    return constant, tables


def _on_grid(value: float) -> float:
    """Return one number rounded to the nearest multiple of SUM_GRID."""
    return float(snap_to_sum_grid(np.array([value]))[0])


def _bin_weights(edges: FloatArray, column: FloatArray) -> FloatArray:
    counts = np.bincount(np.searchsorted(edges, column, side="left"), minlength=edges.size + 1)
    return np.asarray(counts / counts.sum(), dtype=np.float64)


def _regrid(table: Table, column: int, edges: FloatArray) -> FloatArray:
    """Return a one-input table's values on a finer edge set."""
    reps = _representatives(edges)
    return np.asarray(table.values[np.searchsorted(table.edges[0], reps, side="left")])


def purify(
    constant: float, tables: dict[tuple[int, ...], Table], matrix: FloatArray, n_features: int
) -> tuple[float, dict[tuple[int, ...], Table]]:
    """Move main effects out of pair tables, centre every table on the training data."""
    mains: dict[int, list[Table]] = defaultdict(list)
    pairs: dict[tuple[int, ...], Table] = {}
    for key, table in tables.items():
        if len(key) == 1:
            mains[key[0]].append(table)
            continue
        a, b = key
        wa = _bin_weights(table.edges[0], matrix[:, a])
        wb = _bin_weights(table.edges[1], matrix[:, b])
        row = snap_to_sum_grid(table.values @ wb)
        col = snap_to_sum_grid(wa @ table.values)
        grand = _on_grid(float(wa @ row))
        pure = table.values - row[:, None] - col[None, :] + grand
        mains[a].append(Table((a,), [table.edges[0]], row - grand))
        mains[b].append(Table((b,), [table.edges[1]], col - grand))
        constant += grand
        pairs[key] = Table(key, table.edges, pure)
    out: dict[tuple[int, ...], Table] = {}
    for column in range(n_features):
        parts = mains.get(column, [])
        edges = np.unique(np.concatenate([p.edges[0] for p in parts])) if parts else np.array([])
        values = np.zeros(edges.size + 1)
        for part in parts:
            values += _regrid(part, column, edges)
        out[(column,)] = Table((column,), [edges], values)
    out.update(pairs)
    for table in out.values():
        mean = _on_grid(float(table.lookup(matrix).mean()))
        table.values = table.values - mean
        constant += mean
    return constant, out


def export_tables(
    estimator: Any, train_matrix: FloatArray
) -> tuple[float, dict[tuple[int, ...], Table]]:
    """Return the intercept and purified, centred tables reproducing ``estimator``.

    Every number is a multiple of SUM_GRID (each leaf moves by 2.9e-14 at most, a score by
    n_iter times that), so that any way of adding a record's terms gives the same log-odds, to
    the last bit, and the model is exactly as monotone as its trees.
    """
    constant, tables = raw_tables(estimator)
    return purify(constant, tables, train_matrix, train_matrix.shape[1])
