"""Where a POST /v1/score/batch (1,000 suppliers, or --size N) spends its time, in-process.

    .venv/bin/python bench/bench_batch_api.py
    .venv/bin/python bench/bench_batch_api.py --size 10000   # the largest batch allowed

Times each stage of the batch endpoint's work (CPU time of this thread, median of many runs,
so that other load on the machine counts less) on the same 1,000 random suppliers as
bench_service.py, and beside each stage the way FastAPI would do it by default, measured in
the same run:

- reading the body: ours (msgspec's one typed pass for a canonical body, codes and dates
  checked per column) against ``BatchRequest.model_validate_json`` (pydantic, one model per row);
- reasons and recourse (no reference: they are ours);
- writing the results without explanations: ours (JSON text column by column, everything
  included) against only serialising the same results, already built as dicts, with
  ``pydantic_core.to_json`` (a lower bound for any writer that builds dicts first);
- the whole endpoint's work (``_batch_work``: parse, score, explain, write), with and without
  explanations, with the page faults per batch: here with the memory setting the service
  applies at start (``keep_freed_memory``), beside a child process left at the C library's
  defaults.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic_core import to_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_service import supplier  # noqa: E402

from service.bodies import parse_batch  # noqa: E402
from service.malloc import keep_freed_memory  # noqa: E402
from service.routes.scoring import _batch_work  # noqa: E402
from service.schemas import BatchRequest  # noqa: E402
from service.state import load_serving  # noqa: E402
from supplier_risk.settings import Settings  # noqa: E402

SIZE = 1_000
RUNS = 60


def cpu_ms(work: Callable[[], Any]) -> float:
    """Return the median CPU time of ``work`` in ms (this thread only)."""
    work()
    times = []
    for _ in range(RUNS):
        start = time.thread_time()
        work()
        times.append(time.thread_time() - start)
    return 1000 * statistics.median(times)


def faults_per_call(work: Callable[[], Any]) -> float:
    """Return the minor page faults of one call of ``work``, on average (this thread only)."""
    work()
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(RUNS):
        work()
    return (resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before) / RUNS


def row(label: str, ours: float, theirs: float | None = None) -> None:
    if theirs is None:
        print(f"  {label:<46} ours {ours:6.2f} ms")
    else:
        print(
            f"  {label:<46} ours {ours:6.2f} ms   pydantic {theirs:6.2f} ms   {theirs / ours:4.1f}x"
        )


def bodies() -> tuple[bytes, bytes]:
    """Return the benchmark's suppliers as batch bodies, with and without explanations."""
    rng = random.Random(7)
    suppliers = [supplier(rng, 1000 + i) for i in range(SIZE)]
    return (
        json.dumps({"suppliers": suppliers, "explain": True}).encode(),
        json.dumps({"suppliers": suppliers, "explain": False}).encode(),
    )


LABELS = ("explain=true", "explain=false")


def whole_work(settings: Settings, labels: tuple[str, ...] = LABELS) -> dict[str, list[float]]:
    """Return, per body, the whole endpoint's CPU ms per batch and its page faults."""
    serving = load_serving(settings)
    today = settings.current_date()
    gc.collect()
    gc.freeze()  # as the service does after loading its model
    out = {}
    for label, data in zip(LABELS, bodies(), strict=True):
        if label in labels:
            work = partial(_batch_work, serving, data, SIZE, today, None)
            out[label] = [cpu_ms(work), faults_per_call(work)]
    return out


def at_defaults(label: str) -> list[float]:
    """Return whole_work for one body in a fresh process at the C library's malloc defaults.

    Fresh for each body: glibc's defaults adapt to what was freed before.
    """
    done = subprocess.run(
        [sys.executable, __file__, "--size", str(SIZE), "--defaults", label],
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[float] = json.loads(done.stdout)[label]
    return result


def main() -> None:
    global SIZE, RUNS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SIZE, help="suppliers per batch")
    parser.add_argument("--defaults", help=argparse.SUPPRESS)  # a child, for one body
    args = parser.parse_args()
    if args.size < 1:
        parser.error("--size must be at least 1")
    SIZE, RUNS = args.size, max(5, RUNS * 1_000 // args.size)
    settings = Settings()
    if args.defaults is not None:  # a child: the C library's own malloc settings
        print(json.dumps(whole_work(settings, (args.defaults,))))
        return
    keep_freed_memory(settings.keep_freed_memory_mb * 1024 * 1024)  # as the service does
    serving = load_serving(settings)
    today = settings.current_date()
    scorer = serving.scorer
    body, _ = bodies()
    gc.collect()
    gc.freeze()  # as the service does after loading its model

    batch = parse_batch(body, SIZE, scorer)
    scored = scorer.score_columns(batch.columns, today)
    plain_results = scorer.results(scored, today, reasons=False, recourse=False)

    print(f"POST /v1/score/batch work, {SIZE:,} suppliers ({len(body) / 1e3:.0f} KB in), CPU ms:")
    row(
        "read and validate the body",
        cpu_ms(lambda: parse_batch(body, SIZE, scorer)),
        cpu_ms(lambda: BatchRequest.model_validate_json(body)),
    )
    row("derive features and score", cpu_ms(lambda: scorer.score_columns(batch.columns, today)))
    row("explain: reasons", cpu_ms(lambda: scorer.reason_list(scored, 4)))
    row("explain: recourse", cpu_ms(lambda: scorer.recourse_list(scored, today)))
    row(
        "write results (contributions, policy, ...)",
        cpu_ms(lambda: scorer.results_json(scored, today, reasons=False, recourse=False)),
        cpu_ms(lambda: to_json(plain_results)),
    )
    print(
        "  (pydantic's 'write results' is only to_json of the same results already built as "
        "dicts: a lower bound for any writer that builds dicts first)"
    )
    print("Whole endpoint work (_batch_work), CPU ms and page faults per batch:")
    for label, (ms, faults) in whole_work(settings).items():
        their_ms, their_faults = at_defaults(label)
        print(
            f"  {label:<14} as served {ms:6.2f} ms, {faults:5.0f} faults   "
            f"C library defaults {their_ms:6.2f} ms, {their_faults:5.0f} faults   "
            f"{their_ms / ms:4.2f}x"
        )


if __name__ == "__main__":
    main()
