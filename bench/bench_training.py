"""Train on 200,000 rows of two different histories and check the issue's margins and time.

    .venv/bin/python bench/bench_training.py [--rows 200000]

The histories: the domain simulator (training/simulate.py, the shipped model's seed) and the
independent shipment-level generator (training/shipments.py), which our simulator did not
write. For each: held-out ROC AUC, log loss and ECE(10) of our model next to the unconstrained
HistGradientBoostingClassifier fitted on the same split, the margins, and the training time
(wall and CPU), with the issue's limits: ROC AUC at most 0.005 below, log loss at most 0.005
above, ECE(10) at most 0.02, training at most 60 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from supplier_risk.history import read_history
from supplier_risk.reference import load_reference
from training.report import format_report
from training.shipments import write as write_shipments
from training.simulate import SimulationConfig, write_history
from training.train import train_model

TODAY = dt.date(2026, 11, 28)
MAX_AUC_DROP = 0.005
MAX_LOG_LOSS_RISE = 0.005
MAX_ECE = 0.02
MAX_SECONDS = 60.0


def main() -> None:
    """Run both trainings and print the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    reference = load_reference()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()}")
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        histories: dict[str, tuple[int, Callable[[Path], object]]] = {
            "domain simulator (seed 20261128)": (
                20261128,
                lambda p: write_history(SimulationConfig(rows=args.rows, seed=20261128), p),
            ),
            "shipment-level generator (seed 11)": (11, lambda p: write_shipments(args.rows, 11, p)),
        }
        for k, (name, (seed, write)) in enumerate(histories.items()):
            path = Path(tmp) / f"history{k}.csv"
            write(path)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                history = read_history(path, reference)
            cpu = time.process_time()
            report = train_model(
                history, reference, Path(tmp) / f"model{k}.json", seed=seed, today=TODAY
            )
            cpu = time.process_time() - cpu
            print(f"\n=== {name}: {history.rows_read:,} rows, "
                  f"{len(history.invalid_rows)} invalid, {len(caught)} warnings")  # fmt: skip
            print(format_report(report))
            ours = report.metrics["held_out"]
            free = report.metrics["hgb_unconstrained"]
            checks = {
                "ROC AUC drop": (free["roc_auc"] - ours["roc_auc"], MAX_AUC_DROP),
                "log loss rise": (ours["log_loss"] - free["log_loss"], MAX_LOG_LOSS_RISE),
                "ECE(10)": (ours["ece_10"], MAX_ECE),
                "training seconds (wall)": (report.seconds, MAX_SECONDS),
            }
            print(f"training CPU seconds: {cpu:.1f}")
            for check, (value, limit) in checks.items():
                ok = value <= limit
                verdicts.append(ok)
                print(f"  {check:26} {value:+9.4f}  limit {limit:g}  {'ok' if ok else 'FAILED'}")
    print("\nall margins met" if all(verdicts) else "\nSOME MARGINS FAILED")


if __name__ == "__main__":
    main()
