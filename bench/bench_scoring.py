"""Score 1,000,000 records from the model file alone and with the fitted estimator, side by side.

    .venv/bin/python bench/bench_scoring.py [--records 1000000] [--train-rows 200000]

Trains a model on a simulated history (the shipped model's command and seed), then scores the
same records three ways in one run: ``LoadedModel.score`` on the feature matrix (table lookups
and NumPy, from the JSON file alone), the full path ``derive_features`` + ``score``, and the
fitted scikit-learn estimator's ``predict_proba`` on the same matrix. Also times the pure-Python
``score_one`` for a single record. Prints times and ratios; ours must be faster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from supplier_risk.features import derive_features
from supplier_risk.history import read_history
from supplier_risk.model_file import load_model_file
from supplier_risk.reference import load_reference
from supplier_risk.scoring import LoadedModel
from supplier_risk.validation import validate_frame
from training.simulate import SimulationConfig, simulate, write_history
from training.train import train_model

TODAY = dt.date(2026, 11, 28)
SEED = 20261128


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """Return the fastest of ``repeats`` wall-clock timings of ``work()``, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()}")

    reference = load_reference()
    with tempfile.TemporaryDirectory() as tmp:
        history_path = Path(tmp) / "history.csv"
        model_path = Path(tmp) / "model.json"
        write_history(SimulationConfig(rows=args.train_rows, seed=SEED), history_path)
        history = read_history(history_path, reference)
        report = train_model(history, reference, model_path, seed=SEED, today=TODAY)
        print(f"trained on {args.train_rows:,} rows in {report.seconds:.1f} s "
              f"({report.estimator.n_iter_} boosting iterations)")  # fmt: skip
        model = LoadedModel(load_model_file(model_path))
    estimator = report.estimator

    frame = simulate(SimulationConfig(rows=args.records, seed=SEED + 1)).drop(columns="disrupted")
    cells = frame.astype(str).replace({"nan": ""})
    validated = validate_frame(pd.DataFrame(cells), reference)
    assert validated.valid.all()
    columns = validated.columns
    matrix = derive_features(columns, reference, TODAY).matrix
    n = len(columns)

    ours = model.score(matrix).probability
    theirs = estimator.predict_proba(matrix)[:, 1]
    print(f"{n:,} records; max |ours - predict_proba| = {np.max(np.abs(ours - theirs)):.2e}")

    t_score = best_of(args.repeats, lambda: model.score(matrix))
    t_logit = best_of(args.repeats, lambda: model.logit_of(matrix))
    t_full = best_of(
        args.repeats, lambda: model.score(derive_features(columns, reference, TODAY).matrix)
    )
    t_sklearn = best_of(args.repeats, lambda: estimator.predict_proba(matrix))
    # Our path is single-threaded NumPy; show sklearn on one thread too, so that the ratio
    # does not rest on OpenMP contention on a busy machine.
    with threadpool_limits(1):
        t_sklearn_1 = best_of(args.repeats, lambda: estimator.predict_proba(matrix))

    rows = [
        ("LoadedModel.score (probability, band, contributions)", t_score),
        ("LoadedModel.logit_of (log-odds only)", t_logit),
        ("derive_features + LoadedModel.score", t_full),
        ("sklearn predict_proba (same matrix, default threads)", t_sklearn),
        ("sklearn predict_proba (same matrix, 1 thread)", t_sklearn_1),
    ]
    fastest_sklearn = min(t_sklearn, t_sklearn_1)
    print(f"\n{'scoring ' + format(n, ',') + ' records (best of ' + str(args.repeats) + ')':56}"
          f"{'seconds':>9} {'records/s':>12} {'vs best sklearn':>16}")  # fmt: skip
    for label, seconds in rows:
        print(f"{label:56}{seconds:9.3f} {n / seconds:12,.0f} {fastest_sklearn / seconds:15.1f}x")

    # One record in pure Python: the feature row as a list, as a request handler would hold it.
    sample = matrix[np.random.default_rng(1).choice(n, 10_000, replace=False)].tolist()
    per_call = []
    for _ in range(5):
        started = time.perf_counter()
        for row in sample:
            model.score_one(row)
        per_call.append((time.perf_counter() - started) / len(sample) * 1e6)
    one_row = matrix[:1]
    numpy_one = best_of(2000, lambda: model.score(one_row)) * 1e6
    sklearn_one = best_of(200, lambda: estimator.predict_proba(one_row)) * 1e6
    print(f"\n{'one record':56}{'µs':>9}")
    print(f"{'score_one, pure Python (median of 5 x 10,000 records)':56}"
          f"{statistics.median(per_call):9.2f}")  # fmt: skip
    print(f"{'LoadedModel.score on a 1-row matrix (best)':56}{numpy_one:9.2f}")
    print(f"{'sklearn predict_proba on a 1-row matrix (best)':56}{sklearn_one:9.2f}")
    one_ok = "met" if statistics.median(per_call) < 50 else "MISSED"
    faster = "yes" if t_score < fastest_sklearn else "NO"
    print(
        f"\nscore_one target < 50 µs: {one_ok}; ours faster than predict_proba on {n:,}: {faster}"
    )


if __name__ == "__main__":
    main()
