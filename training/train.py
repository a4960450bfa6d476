"""Train on a labelled history and write the JSON model file, with a held-out report."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from supplier_risk.errors import InputFileError
from supplier_risk.features import (
    FEATURE_LEVELS,
    FEATURE_NAMES,
    HORIZON_DAYS,
    MONOTONE,
    derive_features,
    feature_kind,
)
from supplier_risk.history import History
from supplier_risk.model_file import dump_model
from supplier_risk.reference import Reference
from training.evaluate import metrics
from training.export import Table, export_tables
from training.fit import (
    DECLARED_PAIRS,
    HGB_PARAMS,
    MAX_SELECTED_PAIRS,
    MIN_LOG_LOSS_GAIN,
    SELECTION_OVERRIDES,
    SELECTION_ROWS,
    SELECTION_Z,
    SEPARATED_LOSS_FRACTION,
    PairSelection,
    fit_final,
    select_pairs,
)

HELD_OUT_FRACTION = 0.2
MIN_ROWS = 200
MIN_PER_LABEL = 20
MODEL_NAME = "supplier-risk"

FEATURE_DESCRIPTIONS = {
    "china_share": "fraction of the material's rare-earth content mined or refined in China",
    "licence_type": "Chinese export-licence status, after policy rules",
    "end_use": "end-use sensitivity level of the declared end use",
    "inventory_buffer_days": "days of consumption covered by stock on hand and in transit",
    "alternate_suppliers": "qualified alternative suppliers whose content is not from China",
    "supplier_type": "established producer, smaller firm, or trader",
    "controlled": "1 when the material is on a control list in force on as_of",
}


@dataclass
class TrainReport:
    """What training measured and wrote."""

    path: Path
    sha256: str
    metrics: dict[str, dict[str, float]]
    selection: PairSelection
    seconds: float
    rows: int
    invalid_rows: int
    document: dict[str, Any]
    phases: dict[str, float]
    """seconds spent in each phase of training"""
    estimator: Any
    """the fitted scikit-learn estimator the file was exported from (kept in memory only)"""
    warnings: list[str]
    """what the user should hear about the history (an input that never varies)"""


def check_trainable(labels: NDArray[np.int64]) -> None:
    """Raise InputFileError unless there are enough valid rows of each label to fit and test."""
    positives = int(labels.sum())
    negatives = int(labels.size - positives)
    if labels.size < MIN_ROWS or min(positives, negatives) < MIN_PER_LABEL:
        raise InputFileError(
            f"training needs at least {MIN_ROWS} valid rows with at least {MIN_PER_LABEL} of "
            f"each label; got {labels.size} valid rows, {positives} with disrupted=1 and "
            f"{negatives} with disrupted=0"
        )


def label_warnings(as_of: NDArray[np.datetime64], today: dt.date) -> list[str]:
    """Return warnings naming the rows whose labels cannot be final yet (none: [])."""
    # Trained on as given (the file is the user's to fix), but said: a label records what
    # happened within 90 days after as_of, so a future date is a typo or a guess, and a
    # recent one may still see its disruption: labelled 0 today, it reads too safe.
    day = np.datetime64(today, "D")
    later = as_of > day
    recent = ~later & (as_of > day - np.timedelta64(HORIZON_DAYS, "D"))
    out = []
    if later.any():
        out.append(
            f"{int(later.sum()):,} row(s) have as_of after today ({today.isoformat()}), the "
            f"latest {as_of[later].max()}: labels for dates after today cannot be known yet "
            "(disrupted says what happened within 90 days after as_of); they are trained on "
            "as given"
        )
    if recent.any():
        out.append(
            f"{int(recent.sum()):,} row(s) have as_of within the {HORIZON_DAYS} days before "
            f"today (after {day - np.timedelta64(HORIZON_DAYS, 'D')}): their 90 days are not "
            "over, so a disruption may still come and a 0 may read too safe; they are trained "
            "on as given (leave them out of --data to train on final labels only)"
        )
    return out


def constant_input_warnings(matrix: NDArray[np.float64]) -> list[str]:
    """Return a warning for each model input that has one value in every row."""
    return [
        f"{name} is {matrix[0, j]:g} in every row: the model learns nothing from it (its table "
        "is flat), and its scores ignore it"
        for j, name in enumerate(FEATURE_NAMES)
        if matrix.shape[0] and np.ptp(matrix[:, j]) == 0
    ]


def _feature_specs() -> list[dict[str, Any]]:
    specs = []
    for name in FEATURE_NAMES:
        spec: dict[str, Any] = {
            "name": name,
            "kind": feature_kind(name),
            "monotone": MONOTONE[name],
            "description": FEATURE_DESCRIPTIONS[name],
        }
        if name in FEATURE_LEVELS:
            spec["levels"] = list(FEATURE_LEVELS[name])
        specs.append(spec)
    return specs


def _term_documents(tables: dict[tuple[int, ...], Table]) -> list[dict[str, Any]]:
    ordered = sorted(tables.items(), key=lambda kv: (len(kv[0]), kv[0]))
    terms = []
    for key, table in ordered:
        names = [FEATURE_NAMES[c] for c in key]
        terms.append(
            {
                "name": " x ".join(names),
                "features": names,
                "edges": [[float(v) for v in e] for e in table.edges],
                "values": table.values.tolist(),
            }
        )
    return terms


def train_model(
    history: History,
    reference: Reference,
    out: Path,
    *,
    seed: int = 0,
    source: str = "",
    today: dt.date | None = None,
) -> TrainReport:
    """Fit, evaluate against the references, export and write the model file."""
    started = time.perf_counter()
    today = today or dt.datetime.now(dt.UTC).date()
    check_trainable(history.labels)
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 3)
        clock = now

    x = derive_features(history.columns, reference, today).matrix
    y = history.labels
    index = np.arange(y.size)
    train_idx, test_idx = train_test_split(
        index, test_size=HELD_OUT_FRACTION, random_state=seed, stratify=y
    )
    x_train, y_train, x_test, y_test = x[train_idx], y[train_idx], x[test_idx], y[test_idx]

    lap("features")
    selection = select_pairs(x_train, y_train, seed)
    lap("pair_selection")
    pairs = (*DECLARED_PAIRS, *selection.kept)
    estimator, references = fit_final(x_train, y_train, seed, pairs)
    lap("fit_and_references")
    intercept, tables = export_tables(estimator, x_train)
    lap("export")

    with threadpool_limits(1):  # see training.fit.parallel_map
        report_metrics = {"held_out": metrics(y_test, estimator.predict_proba(x_test)[:, 1])}
        for name, model in references.items():
            report_metrics[name] = metrics(y_test, model.predict_proba(x_test)[:, 1])
    report_metrics["pair_selection_log_loss_gain"] = dict(selection.gains)
    lap("evaluation")

    as_of = history.columns.as_of
    seconds = time.perf_counter() - started
    document: dict[str, Any] = {
        "format_version": 1,
        "name": MODEL_NAME,
        "version": f"{today.isoformat()}+{history.data_sha256[:8]}",
        "description": (
            "Additive, monotone model of the probability that a rare-earth supply is disrupted "
            "by export controls within 90 days: one step function per input, the licence x "
            "end-use interaction, and interaction pairs kept on held-out data."
        ),
        "training": {
            "rows": int(y_train.size),
            "held_out_rows": int(y_test.size),
            "data_sha256": history.data_sha256,
            "as_of_min": str(as_of.min()),
            "as_of_max": str(as_of.max()),
            "positive_rate": float(y.mean()),
            "source": source,
            "estimator": "sklearn HistGradientBoostingClassifier with interaction_cst and "
            "monotonic_cst, exported to lookup tables",
            "params": {
                **HGB_PARAMS,
                "random_state": seed,
                "n_iter": int(estimator.n_iter_),
                # fit.Booster's second stop, so the file says how its fit could end
                "stop_below_constant_loss_fraction": SEPARATED_LOSS_FRACTION,
                "pairs": [" x ".join(p) for p in pairs],
                "pair_selection": {
                    "method": "greedy forward on an inner 75/25 split of a training subsample",
                    "rows": min(SELECTION_ROWS, int(y_train.size)),
                    "min_log_loss_gain": MIN_LOG_LOSS_GAIN,
                    "min_standard_errors": SELECTION_Z,
                    "max_pairs": MAX_SELECTED_PAIRS,
                    **SELECTION_OVERRIDES,
                },
                "invalid_rows_skipped": len(history.invalid_rows),
            },
            "trained_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "seconds": round(seconds, 3),
        },
        "reference_versions": dict(reference.versions),
        "features": _feature_specs(),
        "intercept": intercept,
        "terms": _term_documents(tables),
        "bands": {"labels": ["low", "medium", "high", "critical"], "thresholds": [0.1, 0.25, 0.5]},
        "metrics": report_metrics,
    }
    sha = dump_model(document, out)
    return TrainReport(
        path=out,
        sha256=sha,
        metrics=report_metrics,
        selection=selection,
        seconds=time.perf_counter() - started,
        rows=int(y.size),
        invalid_rows=len(history.invalid_rows),
        document=document,
        estimator=estimator,
        phases=phases,
        warnings=constant_input_warnings(x),
    )
