"""Checks shared by the tests of the shipped model and of freshly trained ones."""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from supplier_risk.features import FEATURE_NAMES
from supplier_risk.scoring import LoadedModel

GRID: dict[str, NDArray[np.float64]] = {
    "china_share": np.linspace(0.0, 1.0, 21),
    "licence_type": np.arange(5.0),
    "end_use": np.arange(4.0),
    "inventory_buffer_days": np.array(
        [0, 1, 7, 14, 21, 30, 40, 45, 50, 60, 75, 90, 120, 150, 180, 270, 365, 730, 3650.0]
    ),
    "alternate_suppliers": np.array([0, 1, 2, 3, 4, 5, 7, 10, 50, 1000.0]),
    "supplier_type": np.arange(3.0),
    "controlled": np.array([0.0, 1.0]),
}
"""Every combination of these values is scored; the licence codes follow DOMAIN.md's order
not_required < general < individual < pending < denied."""


def grid_logits(model: LoadedModel) -> NDArray[np.float64]:
    """Return the model's log-odds over GRID, shaped one axis per feature."""
    axes = [GRID[name] for name in FEATURE_NAMES]
    matrix = np.array(list(itertools.product(*axes)), dtype=np.float64)
    return model.logit_of(matrix).reshape([a.size for a in axes])


def monotone_violations(model: LoadedModel) -> dict[str, float]:
    """Return, per monotone feature, the worst step against its declared direction (0 if none)."""
    logits = grid_logits(model)
    directions = {f.name: f.monotone for f in model.file.features}
    worst: dict[str, float] = {}
    for axis, name in enumerate(FEATURE_NAMES):
        direction = directions[name]
        if direction == 0:
            continue
        steps = np.diff(logits, axis=axis) * direction
        worst[name] = float(max(0.0, -steps.min()))
    return worst
